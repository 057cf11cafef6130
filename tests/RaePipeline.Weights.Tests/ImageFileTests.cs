using RaePipeline.Data;
using RaePipeline.Imaging;
using RaePipeline.Weights.Tests.Files;
using SkiaSharp;
using static TorchSharp.torch;

namespace RaePipeline.Weights.Tests;

/// <summary>
/// Images decode as PIL's <c>Image.open(path).convert("RGB")</c> does, checked against values computed from the
/// pixels each test writes; damaged files are refused naming the file.
/// </summary>
public class ImageFileTests : TestFolder
{
    const int Width = 7, Height = 5;

    [Fact]
    public void Rgba_drops_alpha_and_keeps_the_stored_rgb_as_pil_convert_rgb_does()
    {
        var rgba = RandomBytes(Width * Height * 4, seed: 1);
        for (int i = 3; i < rgba.Length; i += 28) rgba[i] = 0; // some fully transparent pixels too
        var expected = Enumerable.Range(0, Width * Height).SelectMany(p => rgba.Skip(p * 4).Take(3)).ToArray();
        Decode(PngBuilder.Encode(Width, Height, PngBuilder.Rgba, 8, rgba)).Should().Equal(expected);
    }

    [Fact]
    public void Grayscale_and_grayscale_with_alpha_are_replicated_to_three_channels()
    {
        var gray = RandomBytes(Width * Height, seed: 2);
        Decode(PngBuilder.Encode(Width, Height, PngBuilder.Gray, 8, gray)).Should().Equal(gray.SelectMany(v => new[] { v, v, v }));
        var grayAlpha = RandomBytes(Width * Height * 2, seed: 3);
        Decode(PngBuilder.Encode(Width, Height, PngBuilder.GrayAlpha, 8, grayAlpha))
            .Should().Equal(Enumerable.Range(0, Width * Height).SelectMany(p => Enumerable.Repeat(grayAlpha[2 * p], 3)));
    }

    [Fact]
    public void A_palette_with_transparency_gives_the_palette_colors()
    {
        var palette = RandomBytes(16 * 3, seed: 4);
        var alphas = RandomBytes(16, seed: 5);
        var indices = RandomBytes(Width * Height, seed: 6).Select(b => (byte)(b % 16)).ToArray();
        var png = PngBuilder.Encode(Width, Height, PngBuilder.Palette, 8, indices, ("PLTE", palette), ("tRNS", alphas));
        Decode(png).Should().Equal(indices.SelectMany(i => palette.Skip(3 * i).Take(3)));
    }

    [Fact]
    public void A_gifs_transparent_pixels_get_their_palette_color_as_pil_gives_it()
    {
        var palette = RandomBytes(8 * 3, seed: 18);
        var indices = RandomBytes(Width * Height, seed: 19).Select(b => (byte)(b % 8)).ToArray();
        indices[3] = 5; // at least one transparent pixel
        var gif = GifWriter.Write(Width, Height, palette, indices, transparentIndex: 5);
        Decode(gif).Should().Equal(indices.SelectMany(i => palette.Skip(3 * i).Take(3)));
    }

    [Fact]
    public void Sixteen_bit_color_keeps_the_high_byte_as_pil_does()
    {
        var samples = RandomBytes(Width * Height * 3 * 2, seed: 7); // big-endian: the high byte comes first
        var expected = Enumerable.Range(0, Width * Height * 3).Select(i => samples[2 * i]).ToArray();
        Decode(PngBuilder.Encode(Width, Height, PngBuilder.Rgb, 16, samples)).Should().Equal(expected);
        var withAlpha = RandomBytes(Width * Height * 4 * 2, seed: 8);
        Decode(PngBuilder.Encode(Width, Height, PngBuilder.Rgba, 16, withAlpha))
            .Should().Equal(Enumerable.Range(0, Width * Height).SelectMany(p => new[] { withAlpha[8 * p], withAlpha[8 * p + 2], withAlpha[8 * p + 4] }));
    }

    [Fact]
    public void Sixteen_bit_grayscale_which_pil_clips_to_white_is_refused_clearly()
    {
        var path = Write("gray16.png", PngBuilder.Encode(Width, Height, PngBuilder.Gray, 16, RandomBytes(Width * Height * 2, seed: 9)));
        ShouldRefuse(path, "16-bit grayscale", "8 bits");
    }

    [Fact]
    public void A_cmyk_jpeg_is_converted_with_pils_formula()
    {
        var blocks = new byte[2, 3, 4];
        var random = new Random(10);
        foreach (var r in Enumerable.Range(0, 2))
            foreach (var c in Enumerable.Range(0, 3))
                foreach (var k in Enumerable.Range(0, 4))
                    blocks[r, c, k] = (byte)random.Next(256);
        var path = Write("cmyk.jpg", CmykJpegWriter.Write(blocks));
        using var rgb = ImageFile.ReadRgb8(path);
        rgb.shape.Should().Equal(16, 24, 3);
        var actual = rgb.data<byte>().ToArray();
        for (int y = 0; y < 16; y++)
            for (int x = 0; x < 24; x++)
                for (int channel = 0; channel < 3; channel++)
                    actual[(y * 24 + x) * 3 + channel].Should().Be(
                        PilCmykToRgb(blocks[y / 8, x / 8, channel], blocks[y / 8, x / 8, 3]), $"pixel ({y}, {x}) channel {channel}");
    }

    [Fact]
    public void A_truncated_png_is_refused_naming_the_file_as_pil_refuses_it()
    {
        var png = PngBuilder.Encode(64, 64, PngBuilder.Rgb, 8, RandomBytes(64 * 64 * 3, seed: 11));
        var path = Write("truncated.png", png[..(png.Length * 2 / 3)]);
        ShouldRefuse(path, "truncated");
    }

    [Fact]
    public void A_png_with_a_damaged_chunk_checksum_is_refused_naming_the_file()
    {
        var png = PngBuilder.Encode(Width, Height, PngBuilder.Rgb, 8, RandomBytes(Width * Height * 3, seed: 12));
        png[^16] ^= 0x5a; // the last byte of the image data's CRC
        ShouldRefuse(Write("crc.png", png), "corrupt");
    }

    [Fact]
    public void An_image_declaring_more_pixels_than_its_bytes_can_encode_is_refused_before_decoding()
    {
        var chunks = PngBuilder.Chunks(PngBuilder.Encode(Width, Height, PngBuilder.Rgb, 8, RandomBytes(Width * Height * 3, seed: 13)));
        chunks[0] = ("IHDR", [0, 0, 0x0b, 0xb8, 0, 0, 0x0b, 0xb8, 8, 2, 0, 0, 0]); // 3000 x 3000
        var path = Write("claims.png", PngBuilder.Assemble(chunks));
        long before = GC.GetAllocatedBytesForCurrentThread();
        ShouldRefuse(path, "3000x3000", "more than its");
        (GC.GetAllocatedBytesForCurrentThread() - before).Should().BeLessThan(1 << 20);
    }

    [Fact]
    public void A_webp_declaring_more_pixels_than_its_data_holds_is_refused_after_a_decode_at_the_justified_scale()
    {
        using var bitmap = new SKBitmap(new SKImageInfo(12, 10, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        System.Runtime.InteropServices.Marshal.Copy(RandomBytes(12 * 10 * 4, seed: 17), 0, bitmap.GetPixels(), 12 * 10 * 4);
        var webp = bitmap.Encode(SKEncodedImageFormat.Webp, 100).ToArray();
        webp.AsSpan(12, 4).SequenceEqual("VP8L"u8).Should().BeTrue("quality 100 is lossless WebP");
        // VP8L header after the 0x2f signature: 14 bits width - 1, 14 bits height - 1; now 10000 x 10000
        uint header = BitConverter.ToUInt32(webp, 21);
        header = header & 0xf0000000u | 9999u | 9999u << 14;
        BitConverter.GetBytes(header).CopyTo(webp, 21);
        var path = Write("claims.webp", webp);
        long before = GC.GetAllocatedBytesForCurrentThread();
        ShouldRefuse(path, "Webp");
        (GC.GetAllocatedBytesForCurrentThread() - before).Should().BeLessThan(4L * (8 * 1032 * webp.Length + 65536) + (1 << 20),
            "the pixels decoded stay within what the file's bytes justify, far below 10000 x 10000 x 4");
    }

    [Fact]
    public void A_flat_webp_of_more_pixels_than_its_bytes_suggest_still_decodes()
    {
        using var bitmap = new SKBitmap(new SKImageInfo(1500, 1200, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        bitmap.Erase(new SKColor(12, 34, 56));
        var webp = bitmap.Encode(SKEncodedImageFormat.Webp, 100).ToArray();
        (1500L * 1200).Should().BeGreaterThan(8 * 1032 * webp.Length + 65536, "the flat image is coded in a few bytes");
        using var rgb = ImageFile.ReadRgb8(Write("flat.webp", webp));
        rgb.shape.Should().Equal(1200, 1500, 3);
        using var expected = tensor(new byte[] { 12, 34, 56 }).expand(1200, 1500, 3);
        rgb.SameValues(expected).Should().BeTrue();
    }

    [Fact]
    public void An_image_beyond_pils_decompression_bomb_limit_is_refused()
    {
        var chunks = PngBuilder.Chunks(PngBuilder.Encode(Width, Height, PngBuilder.Gray, 8, RandomBytes(Width * Height, seed: 14)));
        chunks[0] = ("IHDR", [0, 0, 0x4e, 0x20, 0, 0, 0x4e, 0x20, 1, 0, 0, 0, 0]); // 20000 x 20000, 1 bit
        chunks.Insert(1, ("tEXt", new byte[40_000])); // enough bytes that the size alone is not what gives it away
        ShouldRefuse(Write("bomb.png", PngBuilder.Assemble(chunks)), "decompression-bomb limit");
    }

    [Theory]
    [InlineData(new byte[0], "empty")]
    [InlineData(new byte[] { 0x47, 0x49, 0x46, 0x38 }, "not a decodable image")]
    [InlineData(new byte[] { 0x6e, 0x6f, 0x74, 0x20, 0x61, 0x6e, 0x20, 0x69, 0x6d, 0x61, 0x67, 0x65 }, "not a decodable image")]
    public void A_file_that_is_no_image_is_refused_naming_it(byte[] bytes, string said) => ShouldRefuse(Write("x.png", bytes), said);

    [Fact]
    public void A_truncated_png_in_an_image_folder_stops_the_dataset_naming_the_file()
    {
        var classFolder = PathOf("cat");
        Directory.CreateDirectory(classFolder);
        var good = PngBuilder.Encode(16, 16, PngBuilder.Rgb, 8, RandomBytes(16 * 16 * 3, seed: 15));
        File.WriteAllBytes(Path.Combine(classFolder, "a.png"), good);
        var broken = Path.Combine(classFolder, "b.png");
        File.WriteAllBytes(broken, good[..(good.Length / 2)]);
        var dataset = new ImageFolderDataset(PathOf(""), imageSize: 8);
        using (var first = dataset.Get(0).Image) first.shape.Should().Equal(3, 8, 8);
        var act = () => dataset.Get(1);
        act.Should().Throw<DatasetException>().Where(e => e.Message.Contains(broken) && e.Message.Contains("truncated"));
    }

    [Fact]
    public void Written_pngs_read_back_exactly()
    {
        using var image = randint(0, 256, [9, 11, 3], dtype: uint8, generator: new Generator(16));
        var path = PathOf("written.png");
        ImageFile.WritePngRgb8(path, image);
        using var read = ImageFile.ReadRgb8(path);
        read.SameValues(image).Should().BeTrue();
        Directory.GetFiles(PathOf("")).Should().Equal(path);
    }

    /// <summary>Pillow's <c>cmyk2rgb</c> for an Adobe (inverted) CMYK JPEG: ink = 255 - stored; r = (255 - k) - round(c (255 - k) / 255).</summary>
    static byte PilCmykToRgb(byte storedInk, byte storedBlack)
    {
        int ink = 255 - storedInk, notBlack = storedBlack;
        int product = ink * notBlack + 128;
        return (byte)Math.Clamp(notBlack - ((product >> 8) + product >> 8), 0, 255);
    }

    byte[] Decode(byte[] file)
    {
        using var rgb = ImageFile.ReadRgb8(Write("image.png", file));
        rgb.shape.Should().Equal(Height, Width, 3);
        return rgb.data<byte>().ToArray();
    }

    string Write(string name, byte[] bytes)
    {
        File.WriteAllBytes(PathOf(name), bytes);
        return PathOf(name);
    }

    static byte[] RandomBytes(int count, int seed)
    {
        var bytes = new byte[count];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    static void ShouldRefuse(string path, params string[] fragments)
    {
        var act = () => ImageFile.ReadRgb8(path);
        var message = act.Should().Throw<ImageFormatException>().Which.Message;
        message.Should().Contain(path);
        foreach (var fragment in fragments) message.Should().Contain(fragment);
    }
}
