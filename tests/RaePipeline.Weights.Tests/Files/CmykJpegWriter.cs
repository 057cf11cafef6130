namespace RaePipeline.Weights.Tests.Files;

/// <summary>
/// A baseline JPEG with four components (CMYK, Adobe APP14 marker, stored inverted as Photoshop writes it) whose 8x8
/// blocks are flat: each block has only a DC coefficient and the quantizer 8, so a decoder's IDCT reproduces the
/// written values exactly and the test knows every decoded sample.
/// </summary>
public static class CmykJpegWriter
{
    // the standard luminance DC table (categories 0..11) and a one-symbol AC table that only codes end-of-block
    static readonly byte[] DcBits = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
    static readonly byte[] DcValues = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
    static readonly byte[] AcBits = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    static readonly byte[] AcValues = [0];

    /// <param name="blocks">[blockRow, blockColumn, component] stored sample of each flat 8x8 block (C, M, Y, K as stored).</param>
    public static byte[] Write(byte[,,] blocks)
    {
        int rows = blocks.GetLength(0), columns = blocks.GetLength(1);
        using var file = new MemoryStream();
        file.Write([0xFF, 0xD8]);
        Segment(file, 0xEE, [.. "Adobe"u8, 0, 100, 0, 0, 0, 0, 0]); // transform 0: CMYK, no YCCK
        Segment(file, 0xDB, [0, .. Enumerable.Repeat((byte)8, 64)]);
        Segment(file, 0xC0, [8, (byte)(rows * 8 >> 8), (byte)(rows * 8), (byte)(columns * 8 >> 8), (byte)(columns * 8), 4,
            1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0, 4, 0x11, 0]);
        Segment(file, 0xC4, [0x00, .. DcBits, .. DcValues, 0x10, .. AcBits, .. AcValues]);
        Segment(file, 0xDA, [4, 1, 0x00, 2, 0x00, 3, 0x00, 4, 0x00, 0, 63, 0]);
        var dcCodes = Codes(DcBits, DcValues);
        var bits = new BitWriter(file);
        var previous = new int[4];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < columns; c++)
                for (int component = 0; component < 4; component++)
                {
                    int dc = blocks[r, c, component] - 128; // the DC coefficient of a flat block v is 8 (v - 128); over quantizer 8
                    int difference = dc - previous[component];
                    previous[component] = dc;
                    int category = difference == 0 ? 0 : 32 - int.LeadingZeroCount(Math.Abs(difference));
                    var (code, length) = dcCodes[category];
                    bits.Write(code, length);
                    if (category > 0) bits.Write(difference > 0 ? difference : difference + (1 << category) - 1, category);
                    bits.Write(0, 1); // end of block
                }
        bits.Flush();
        file.Write([0xFF, 0xD9]);
        return file.ToArray();
    }

    static void Segment(Stream file, byte marker, byte[] data)
    {
        file.Write([0xFF, marker, (byte)((data.Length + 2) >> 8), (byte)(data.Length + 2)]);
        file.Write(data);
    }

    /// <summary>Canonical Huffman codes (code, length) by symbol, as JPEG derives them from the BITS counts.</summary>
    static Dictionary<int, (int Code, int Length)> Codes(byte[] bits, byte[] values)
    {
        var codes = new Dictionary<int, (int, int)>();
        int code = 0, k = 0;
        for (int length = 1; length <= 16; length++)
        {
            for (int i = 0; i < bits[length - 1]; i++) codes[values[k++]] = (code++, length);
            code <<= 1;
        }
        return codes;
    }

    sealed class BitWriter(Stream stream)
    {
        int buffer, count;

        public void Write(int value, int length)
        {
            for (int i = length - 1; i >= 0; i--)
            {
                buffer = buffer << 1 | (value >> i & 1);
                if (++count == 8) Emit();
            }
        }

        public void Flush()
        {
            while (count != 0) Write(1, 1); // pad with one-bits
        }

        void Emit()
        {
            stream.WriteByte((byte)buffer);
            if (buffer == 0xFF) stream.WriteByte(0); // byte stuffing
            buffer = count = 0;
        }
    }
}
