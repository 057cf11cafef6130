using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace RaePipeline.Weights.Tests.Files;

/// <summary>
/// PNG files written chunk by chunk (any color type and bit depth, palettes, transparency, damaged chunks), so the
/// tests know every pixel value a decoder must produce.
/// </summary>
public static class PngBuilder
{
    public const byte Gray = 0, Rgb = 2, Palette = 3, GrayAlpha = 4, Rgba = 6;

    static readonly byte[] Signature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0d, 0x0a, 0x1a, 0x0a];

    /// <summary>
    /// An image of <paramref name="samples"/> (row-major, channels interleaved; 16-bit samples big-endian as PNG
    /// stores them), unfiltered rows, with <paramref name="chunks"/> (PLTE, tRNS, ...) before the image data.
    /// </summary>
    public static byte[] Encode(int width, int height, byte colorType, byte bitDepth, byte[] samples, params (string Type, byte[] Data)[] chunks)
    {
        int rowBytes = samples.Length / height;
        using var raw = new MemoryStream();
        for (int y = 0; y < height; y++)
        {
            raw.WriteByte(0);
            raw.Write(samples, y * rowBytes, rowBytes);
        }
        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true)) zlib.Write(raw.ToArray());
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = bitDepth;
        header[9] = colorType;
        return Assemble([("IHDR", header), .. chunks, ("IDAT", compressed.ToArray()), ("IEND", [])]);
    }

    /// <summary>The file of the given chunks, each with its length and CRC.</summary>
    public static byte[] Assemble(IEnumerable<(string Type, byte[] Data)> chunks)
    {
        using var file = new MemoryStream();
        file.Write(Signature);
        foreach (var (type, data) in chunks)
        {
            Span<byte> word = stackalloc byte[4];
            BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
            file.Write(word);
            var typeAndData = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
            file.Write(typeAndData);
            BinaryPrimitives.WriteUInt32BigEndian(word, Crc32(typeAndData));
            file.Write(word);
        }
        return file.ToArray();
    }

    /// <summary>The chunks of a PNG file (types and data), for tests that change one and reassemble the file.</summary>
    public static List<(string Type, byte[] Data)> Chunks(byte[] png)
    {
        var chunks = new List<(string, byte[])>();
        for (int at = Signature.Length; at + 12 <= png.Length;)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(at));
            if (length < 0 || at + 12 + length > png.Length) break;
            chunks.Add((Encoding.ASCII.GetString(png, at + 4, 4), png[(at + 8)..(at + 8 + length)]));
            at += 12 + length;
        }
        return chunks;
    }

    /// <summary>The CRC-32 of ISO 3309 that PNG chunks carry.</summary>
    public static uint Crc32(ReadOnlySpan<byte> bytes)
    {
        uint crc = 0xffffffff;
        foreach (var b in bytes)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? 0xedb88320 ^ (crc >> 1) : crc >> 1;
        }
        return ~crc;
    }
}
