using System.Runtime.InteropServices;
using RaePipeline.Weights;
using SkiaSharp;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Imaging;

/// <summary>Reads and writes image files as float tensors (3, H, W) in [0, 1], RGB.</summary>
public static class ImageFile
{
    public static readonly string[] Extensions = [".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif"];

    public static bool IsImage(string path) => Extensions.Contains(Path.GetExtension(path).ToLowerInvariant());

    /// <summary>PIL's limit (<c>Image.MAX_IMAGE_PIXELS</c> x 2), beyond which it refuses a file as a decompression bomb.</summary>
    public const long MaximumPixels = 2 * 89_478_485;

    /// <summary>
    /// Decodes an image file to RGB bytes (H, W, 3) uint8 as PIL's <c>Image.open(path).convert("RGB")</c> does:
    /// alpha is dropped (never composited), grayscale is replicated, palettes are looked up (a GIF's transparent index
    /// too, see <see cref="GifTransparency"/>), 16-bit samples keep their
    /// high byte, CMYK JPEGs are converted with PIL's formula, and no color profile or gamma is applied. Truncated or
    /// corrupt files, other formats, 16-bit grayscale (which PIL clips to white) and sizes the file cannot justify
    /// are refused with an <see cref="ImageFormatException"/> naming the file.
    /// </summary>
    public static Tensor ReadRgb8(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"image not found: {path}", path);
        var bytes = File.ReadAllBytes(path);
        using var stream = new SKMemoryStream(bytes);
        using var codec = SKCodec.Create(stream, out var opened)
                          ?? throw new ImageFormatException(
                              $"{path}: not a decodable image ({(bytes.Length == 0 ? "the file is empty" : opened.ToString())}); " +
                              "supported are PNG, JPEG, BMP, WebP and GIF", path);
        if (!SupportedFormats.Contains(codec.EncodedFormat))
            throw new ImageFormatException($"{path}: a {codec.EncodedFormat} image; supported are PNG, JPEG, BMP, WebP and GIF", path);
        int width = codec.Info.Width, height = codec.Info.Height;
        CheckSize(path, codec, bytes.Length);
        if (codec.EncodedFormat == SKEncodedImageFormat.Png && IsSixteenBitGray(bytes))
            throw new ImageFormatException(
                $"{path}: a 16-bit grayscale PNG, which PIL's convert('RGB') clips to white; convert it to 8 bits first", path);
        var rgba = Decode(path, codec, width, height);
        if (codec.EncodedFormat == SKEncodedImageFormat.Gif && GifTransparency.Color(bytes) is { } transparent)
            for (int i = 0; i < rgba.Length; i += 4)
                if (rgba[i + 3] == 0) transparent.CopyTo(rgba, i);
        using var hwc4 = torch.empty([height, width, 4], torch.uint8);
        rgba.CopyTo(hwc4.bytes); // torch.tensor(byte[]) would take a second managed copy first
        return hwc4[.., .., ..3].contiguous();
    }

    /// <summary>Decodes an image file to (3, H, W) float32 in [0, 1].</summary>
    public static Tensor Read(string path)
    {
        using var scope = NewDisposeScope();
        return ReadRgb8(path).permute(2, 0, 1).to(float32).div(255.0).MoveToOuterDisposeScope();
    }

    /// <summary>Writes (3, H, W) float in [0, 1] (clamped, rounded) as PNG; the file appears whole or not at all.</summary>
    public static void WritePng(string path, Tensor image)
    {
        if (image.dim() != 3 || image.shape[0] != 3)
            throw new ArgumentException($"expected an image tensor (3, H, W), got [{string.Join(", ", image.shape)}]");
        using var scope = NewDisposeScope();
        var hwc = image.detach().cpu().to(float32).clamp(0, 1).mul(255).round().to(uint8).permute(1, 2, 0).contiguous();
        WritePngRgb8(path, hwc);
    }

    /// <summary>Writes (H, W, 3) uint8 as PNG; the file appears whole or not at all.</summary>
    public static void WritePngRgb8(string path, Tensor hwc)
    {
        int height = (int)hwc.shape[0], width = (int)hwc.shape[1];
        using var scope = NewDisposeScope();
        var alpha = torch.full([height, width, 1], 255, dtype: uint8);
        var rgba = torch.cat([hwc.cpu().to(uint8), alpha], 2).contiguous();
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        var pixels = rgba.bytes.ToArray();
        System.Runtime.InteropServices.Marshal.Copy(pixels, 0, bitmap.GetPixels(), pixels.Length);
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100)
                         ?? throw new InvalidOperationException($"PNG encoding failed for {path}");
        AtomicFile.Write(path, data.SaveTo);
    }

    static readonly SKEncodedImageFormat[] SupportedFormats =
        [SKEncodedImageFormat.Png, SKEncodedImageFormat.Jpeg, SKEncodedImageFormat.Bmp, SKEncodedImageFormat.Webp, SKEncodedImageFormat.Gif];

    /// <summary>(H, W, 4) RGBA bytes of the image decoded at <paramref name="width"/> x <paramref name="height"/>, or a refusal.</summary>
    static byte[] Decode(string path, SKCodec codec, int width, int height)
    {
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var rgba = new byte[info.BytesSize64];
        var pinned = GCHandle.Alloc(rgba, GCHandleType.Pinned);
        SKCodecResult decoded;
        try
        {
            decoded = codec.GetPixels(info, pinned.AddrOfPinnedObject());
        }
        finally
        {
            pinned.Free();
        }
        if (decoded != SKCodecResult.Success)
            throw new ImageFormatException(decoded == SKCodecResult.IncompleteInput
                ? $"{path}: truncated: the {codec.EncodedFormat} data ends before the image does"
                : $"{path}: corrupt {codec.EncodedFormat} data ({decoded})", path);
        return rgba;
    }

    /// <summary>
    /// Refuses sizes beyond PIL's decompression-bomb limit, and sizes the file's bytes cannot encode before any pixel
    /// memory is taken: a deflate stream expands at most 1032-fold and a pixel takes at least one bit, and JPEG, GIF
    /// and BMP compress less than that. WebP can code a flat image in a few bytes, so a WebP beyond that bound is
    /// first decoded at a scale the file justifies, which fails for data that does not hold the whole image.
    /// </summary>
    static void CheckSize(string path, SKCodec codec, long fileLength)
    {
        int width = codec.Info.Width, height = codec.Info.Height;
        long pixels = (long)width * height, justified = 8 * 1032 * fileLength + 65536;
        if (width < 1 || height < 1)
            throw new ImageFormatException($"{path}: declares an empty image ({width}x{height})", path);
        if (pixels > MaximumPixels)
            throw new ImageFormatException(
                $"{path}: {width}x{height} = {pixels} pixels, more than PIL's decompression-bomb limit of {MaximumPixels}", path);
        if (pixels <= justified) return;
        if (codec.EncodedFormat != SKEncodedImageFormat.Webp)
            throw new ImageFormatException(
                $"{path}: declares {width}x{height} pixels, more than its {fileLength} bytes can encode (corrupt or hostile file)", path);
        // libwebp decodes to any size
        double scale = Math.Sqrt((double)justified / pixels);
        Decode(path, codec, Math.Max(1, (int)(width * scale)), Math.Max(1, (int)(height * scale)));
    }

    /// <summary>A PNG whose header (IHDR) gives bit depth 16 and color type 0 (grayscale without alpha).</summary>
    static bool IsSixteenBitGray(byte[] png) =>
        png.Length >= 26 && png.AsSpan(12, 4).SequenceEqual("IHDR"u8) && png[24] == 16 && png[25] == 0;
}
