using System.Numerics;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Weights;

/// <summary>
/// Raw tensor data in files: sizes computed in arbitrary precision (a shape read from a file can overflow 64 bits),
/// and bytes read straight into tensor memory once the size has been checked against what the file holds.
/// </summary>
static class TensorBytes
{
    /// <summary>Bytes per element of the dtypes the readers produce.</summary>
    public static int ElementSize(ScalarType type) => type switch
    {
        ScalarType.Float64 or ScalarType.Int64 or ScalarType.ComplexFloat32 => 8,
        ScalarType.ComplexFloat64 => 16,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        ScalarType.Byte or ScalarType.Int8 or ScalarType.Bool => 1,
        _ => throw new ArgumentException($"no element size for {type}"),
    };

    /// <summary>The product of the dimensions, exact whatever their size (shapes are checked non-negative first).</summary>
    public static BigInteger ElementCount(IEnumerable<long> shape) =>
        shape.Aggregate(BigInteger.One, (product, dimension) => product * dimension);

    public static BigInteger ByteCount(IEnumerable<long> shape, ScalarType type) => ElementCount(shape) * ElementSize(type);

    public static string Format(IEnumerable<long> shape) => $"[{string.Join(", ", shape)}]";

    /// <summary>
    /// A tensor of <paramref name="shape"/> filled from <paramref name="stream"/>. The caller has checked that the
    /// file holds the tensor's bytes; a stream that ends early is refused naming <paramref name="where"/>.
    /// </summary>
    public static Tensor Read(Stream stream, long[] shape, ScalarType type, string where, string path)
    {
        var tensor = torch.empty(shape, dtype: type);
        try
        {
            Fill(stream, tensor, where, path);
            return tensor;
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
    }

    /// <summary>Reads exactly the bytes of contiguous <paramref name="tensor"/> from <paramref name="stream"/>, in chunks.</summary>
    public static void Fill(Stream stream, Tensor tensor, string where, string path)
    {
        long total = tensor.NumberOfElements * tensor.ElementSize;
        long done = 0;
        foreach (var part in Chunks(tensor))
            using (part)
            {
                int read = ReadAtMost(stream, part.bytes, where, path);
                done += read;
                if (read != part.bytes.Length)
                    throw new WeightsFormatException(
                        $"{path}: {where} ends after {done} of its {total} bytes (truncated file?)", path);
            }
    }

    /// <summary>Writes the bytes of contiguous CPU <paramref name="tensor"/>, in chunks (a tensor may exceed 2 GiB).</summary>
    public static void Write(Stream stream, Tensor tensor)
    {
        foreach (var part in Chunks(tensor))
            using (part)
                stream.Write(part.bytes);
    }

    /// <summary>Views of at most 16 MiB over a contiguous tensor's elements, whose <c>bytes</c> spans stay small.</summary>
    static IEnumerable<Tensor> Chunks(Tensor tensor)
    {
        if (!tensor.is_contiguous()) throw new ArgumentException("tensor data is read and written from contiguous tensors only");
        long elements = tensor.NumberOfElements;
        if (elements == 0) yield break;
        long step = Math.Max(1, (1L << 24) / tensor.ElementSize);
        using var flat = tensor.view(-1);
        for (long start = 0; start < elements; start += step)
            yield return flat.narrow(0, start, Math.Min(step, elements - start));
    }

    /// <summary>
    /// Stream.Read with the container's own complaints (a corrupt deflate stream, a failed CRC) turned into a
    /// refusal that names the file.
    /// </summary>
    public static int ReadAtMost(Stream stream, Span<byte> buffer, string where, string path)
    {
        try
        {
            int total = 0;
            while (total < buffer.Length)
            {
                int read = stream.Read(buffer[total..]);
                if (read == 0) break;
                total += read;
            }
            return total;
        }
        catch (Exception e) when (e is InvalidDataException or IOException or NotSupportedException)
        {
            throw new WeightsFormatException($"{path}: {where} cannot be read: {e.Message}", path, e);
        }
    }

    /// <summary>Fills <paramref name="buffer"/> or refuses naming what was cut short.</summary>
    public static void ReadExactly(Stream stream, Span<byte> buffer, string where, string path)
    {
        int read = ReadAtMost(stream, buffer, where, path);
        if (read != buffer.Length)
            throw new WeightsFormatException(
                $"{path}: {where} ends after {read} of its {buffer.Length} bytes (truncated file?)", path);
    }
}
