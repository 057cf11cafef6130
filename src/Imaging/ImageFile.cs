using SkiaSharp;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Imaging;

/// <summary>Reads and writes image files as float tensors (3, H, W) in [0, 1], RGB.</summary>
public static class ImageFile
{
    public static readonly string[] Extensions = [".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif"];

    public static bool IsImage(string path) => Extensions.Contains(Path.GetExtension(path).ToLowerInvariant());

    /// <summary>Decodes an image file to RGB bytes (H, W, 3) uint8.</summary>
    public static Tensor ReadRgb8(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"image not found: {path}", path);
        using var bitmap = SKBitmap.Decode(path)
                           ?? throw new InvalidDataException($"{path}: not a decodable image (PNG, JPEG, BMP, WebP, GIF)");
        using var rgba = bitmap.ColorType == SKColorType.Rgba8888 && bitmap.AlphaType != SKAlphaType.Premul
            ? bitmap.Copy()
            : Convert(bitmap);
        var bytes = rgba.Bytes;
        using var hwc4 = torch.tensor(bytes, dtype: torch.uint8).reshape(rgba.Height, rgba.Width, 4);
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

    /// <summary>Writes (H, W, 3) uint8 as PNG.</summary>
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
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temporary = full + ".tmp-" + Guid.NewGuid().ToString("N");
        using (var file = File.Create(temporary)) data.SaveTo(file);
        File.Move(temporary, full, overwrite: true);
    }

    static SKBitmap Convert(SKBitmap source)
    {
        var target = new SKBitmap(new SKImageInfo(source.Width, source.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        using var canvas = new SKCanvas(target);
        canvas.Clear(SKColors.Black);
        canvas.DrawBitmap(source, 0, 0);
        return target;
    }
}
