using static TorchSharp.torch;

namespace RaePipeline.Weights;

/// <summary>Reads an .npy array's rows along the first axis in order; each call returns the next rows.</summary>
public sealed class NpyRowReader : IDisposable
{
    internal NpyRowReader(Stream stream, NpyHeader header, string where, string path)
    {
        Stream = stream;
        Header = header;
        Where = where;
        Path = path;
    }

    public NpyHeader Header { get; }

    /// <summary>Rows read or skipped so far.</summary>
    public long Position { get; private set; }

    public long Remaining => Header.Rows - Position;

    internal Stream Stream { get; }
    internal string Where { get; }
    string Path { get; }

    /// <summary>The next <paramref name="count"/> rows: (count, ...) of the array's dtype (the 0-d array as itself).</summary>
    public Tensor Read(long count)
    {
        CheckCount(count);
        var shape = Header.Shape.Length == 0 ? [] : Header.Shape.Skip(1).Prepend(count).ToArray();
        var tensor = TensorBytes.Read(Stream, shape, Header.DType, Where, Path);
        Position += count;
        return tensor;
    }

    /// <summary>Passes over the next <paramref name="count"/> rows.</summary>
    public void Skip(long count)
    {
        CheckCount(count);
        long bytes = count * Header.RowBytes;
        if (Stream.CanSeek) Stream.Seek(bytes, SeekOrigin.Current);
        else
        {
            var buffer = new byte[(int)Math.Min(bytes, 1 << 20)];
            for (long done = 0; done < bytes; done += buffer.Length)
                TensorBytes.ReadExactly(Stream, buffer.AsSpan(0, (int)Math.Min(buffer.Length, bytes - done)), Where, Path);
        }
        Position += count;
    }

    void CheckCount(long count)
    {
        if (count < 0 || count > Remaining)
            throw new ArgumentOutOfRangeException(nameof(count),
                $"{Path}: {Where} has {Header.Rows} rows; asked for {count} after row {Position}");
    }

    public void Dispose() => Stream.Dispose();
}
