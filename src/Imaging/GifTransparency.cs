namespace RaePipeline.Imaging;

/// <summary>
/// What PIL's <c>convert("RGB")</c> gives a GIF's transparent pixels: the palette color of the transparent index
/// (PIL opens the first frame as palette indices and looks every index up), where a decoder to RGBA leaves them
/// transparent black. Read from the GIF's blocks up to the first image: the global color table, the graphic control
/// extension's transparent index, the image's own color table if it has one.
/// </summary>
static class GifTransparency
{
    /// <summary>The RGB of the first frame's transparent index, or null when it has none (or the blocks are unreadable).</summary>
    public static byte[]? Color(byte[] gif)
    {
        if (gif.Length < 13 || !gif.AsSpan(0, 3).SequenceEqual("GIF"u8)) return null;
        int at = 13;
        byte[]? table = ColorTable(gif, gif[10], ref at);
        int? transparent = null;
        while (at < gif.Length)
        {
            switch (gif[at])
            {
                case 0x21 when at + 1 < gif.Length: // extension: label, then data sub-blocks
                    bool control = gif[at + 1] == 0xF9;
                    at += 2;
                    if (control && at + 4 < gif.Length && gif[at] == 4)
                        transparent = (gif[at + 1] & 1) != 0 ? gif[at + 4] : null;
                    while (at < gif.Length && gif[at] != 0) at += gif[at] + 1;
                    at++;
                    break;
                case 0x2C when at + 10 <= gif.Length: // the first image: its own table, if any, replaces the global one
                    at += 10;
                    table = ColorTable(gif, gif[at - 1], ref at) ?? table;
                    return transparent is int index && table is not null && 3 * index + 3 <= table.Length ? table[(3 * index)..(3 * index + 3)] : null;
                default:
                    return null;
            }
        }
        return null;
    }

    /// <summary>The color table announced by <paramref name="flags"/> (bit 7, size in bits 0-2) at <paramref name="at"/>.</summary>
    static byte[]? ColorTable(byte[] gif, byte flags, ref int at)
    {
        if ((flags & 0x80) == 0) return null;
        int size = 3 << ((flags & 7) + 1);
        if (at + size > gif.Length) return null;
        var table = gif[at..(at + size)];
        at += size;
        return table;
    }
}
