namespace RaePipeline.Weights.Tests.Files;

/// <summary>
/// A one-frame GIF89a of palette indices with a transparent index, its LZW data written without compression (a clear
/// code before every four literals keeps the code width at its minimum), so the test knows every pixel's index.
/// </summary>
public static class GifWriter
{
    /// <param name="palette">8 colors, RGB.</param>
    /// <param name="indices">Row-major indices 0..7.</param>
    public static byte[] Write(int width, int height, byte[] palette, byte[] indices, byte transparentIndex)
    {
        using var file = new MemoryStream();
        file.Write("GIF89a"u8);
        file.Write([(byte)width, (byte)(width >> 8), (byte)height, (byte)(height >> 8), 0xF2, 0, 0]); // global table of 8
        file.Write(palette);
        file.Write([0x21, 0xF9, 4, 0x01, 0, 0, transparentIndex, 0]); // graphic control: transparent index
        file.Write([0x2C, 0, 0, 0, 0, (byte)width, (byte)(width >> 8), (byte)height, (byte)(height >> 8), 0]);
        const int minimumCodeSize = 3, clear = 1 << minimumCodeSize, end = clear + 1, width4 = minimumCodeSize + 1;
        var codes = new List<int>();
        for (int i = 0; i < indices.Length; i++)
        {
            if (i % 4 == 0) codes.Add(clear);
            codes.Add(indices[i]);
        }
        codes.Add(end);
        var packed = new List<byte>();
        int buffer = 0, bits = 0;
        foreach (var code in codes)
        {
            buffer |= code << bits;
            bits += width4;
            while (bits >= 8)
            {
                packed.Add((byte)buffer);
                buffer >>= 8;
                bits -= 8;
            }
        }
        if (bits > 0) packed.Add((byte)buffer);
        file.WriteByte(minimumCodeSize);
        foreach (var block in packed.Chunk(255))
        {
            file.WriteByte((byte)block.Length);
            file.Write(block);
        }
        file.Write([0, 0x3B]);
        return file.ToArray();
    }
}
