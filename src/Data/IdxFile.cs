using System.Buffers.Binary;
using System.IO.Compression;

namespace RaePipeline.Data;

/// <summary>
/// An array in the IDX format of MNIST and Fashion-MNIST, raw or gzipped: two zero bytes, an element type (0x08:
/// unsigned byte, the only one read here), the number of dimensions, each dimension as a big-endian int32, then
/// the elements in row-major order. Every error names the file.
/// </summary>
public sealed class IdxFile
{
    const byte UnsignedByte = 0x08;

    IdxFile(string path, int[] dimensions, byte[] data)
    {
        Path = path;
        Dimensions = dimensions;
        Data = data;
    }

    public string Path { get; }

    public IReadOnlyList<int> Dimensions { get; }

    /// <summary>The elements, row-major.</summary>
    public byte[] Data { get; }

    /// <summary>Reads <paramref name="path"/> (gzip is recognized by its magic bytes, not by the file name).</summary>
    public static IdxFile Read(string path)
    {
        if (!File.Exists(path)) throw new DatasetException($"IDX file not found: {path}", path);
        byte[] bytes = File.ReadAllBytes(path);
        if (bytes.Length >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b)
        {
            try
            {
                using var gzip = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
                using var inflated = new MemoryStream();
                gzip.CopyTo(inflated);
                bytes = inflated.ToArray();
            }
            catch (InvalidDataException e)
            {
                throw new DatasetException($"{path}: corrupt gzip data: {e.Message}", path, e);
            }
        }
        if (bytes.Length < 4 || bytes[0] != 0 || bytes[1] != 0)
            throw new DatasetException(
                $"{path}: not an IDX file (magic {Convert.ToHexString(bytes.AsSpan(0, Math.Min(4, bytes.Length)))}; expected 0000 followed by the element type and rank, e.g. 00000803 for images)", path);
        if (bytes[2] != UnsignedByte)
            throw new DatasetException($"{path}: IDX element type 0x{bytes[2]:X2}; only unsigned bytes (0x08) are read", path);
        int rank = bytes[3];
        if (bytes.Length < 4 + 4 * rank)
            throw new DatasetException($"{path}: the file ends inside its header ({rank} dimensions declared)", path);
        var dimensions = new int[rank];
        long elements = 1;
        for (int i = 0; i < rank; i++)
        {
            dimensions[i] = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(4 + 4 * i));
            if (dimensions[i] < 0) throw new DatasetException($"{path}: dimension {i} is negative ({dimensions[i]})", path);
            elements *= dimensions[i];
        }
        long available = bytes.Length - 4 - 4 * rank;
        if (available != elements)
            throw new DatasetException(
                $"{path}: the header declares {string.Join(" x ", dimensions)} = {elements} bytes of data, the file holds {available}", path);
        return new IdxFile(path, dimensions, bytes[(4 + 4 * rank)..]);
    }
}
