using static TorchSharp.torch;

namespace RaePipeline.Data;

/// <summary>
/// ADM's <c>center_crop_arr</c> (guided-diffusion, used by RAE's stage-2 data and the FID reference batches):
/// halve with PIL BOX while the short side is at least twice the target, resize with PIL BICUBIC so the short
/// side equals the target (other side <c>round(x * scale)</c>), then cut the central square.
/// </summary>
public static class AdmCenterCrop
{
    /// <summary>rgb: (H, W, 3) uint8 -> (size, size, 3) uint8.</summary>
    public static Tensor Apply(Tensor rgb, int size)
    {
        if (size < 1) throw new ArgumentException($"crop size must be positive, got {size}");
        using var scope = NewDisposeScope();
        var image = rgb;
        int height = (int)image.shape[0], width = (int)image.shape[1];
        while (Math.Min(width, height) >= 2 * size)
        {
            width /= 2;
            height /= 2;
            image = PilResampling.Resize(image, width, height, PilFilter.Box);
        }
        double scale = (double)size / Math.Min(width, height);
        // Python's round() rounds half to even, as Math.Round does by default.
        int newWidth = (int)Math.Round(width * scale), newHeight = (int)Math.Round(height * scale);
        if (newWidth != width || newHeight != height)
            image = PilResampling.Resize(image, newWidth, newHeight, PilFilter.Bicubic);
        int top = (newHeight - size) / 2, left = (newWidth - size) / 2;
        return image[TensorIndex.Slice(top, top + size), TensorIndex.Slice(left, left + size)].contiguous()
            .MoveToOuterDisposeScope();
    }
}
