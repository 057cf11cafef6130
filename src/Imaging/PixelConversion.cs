using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Imaging;

/// <summary>Float images to the 8-bit layout the ADM evaluator reads.</summary>
public static class PixelConversion
{
    /// <summary>
    /// images: (B, 3, H, W) float -> (B, H, W, 3) uint8 = clamp(0, 1) * 255 truncated toward zero, as the official
    /// sample_ddp.py does before saving.
    /// </summary>
    public static Tensor ToUint8Hwc(Tensor images)
    {
        using var scope = NewDisposeScope();
        return images.detach().cpu().to(float32).clamp(0, 1).mul(255).to(uint8).permute(0, 2, 3, 1).contiguous()
            .MoveToOuterDisposeScope();
    }

    /// <summary>(B, H, W, 3) uint8 -> (B, 3, H, W) float32 in [0, 1].</summary>
    public static Tensor FromUint8Hwc(Tensor images)
    {
        using var scope = NewDisposeScope();
        return images.permute(0, 3, 1, 2).to(float32).div(255.0).contiguous().MoveToOuterDisposeScope();
    }
}
