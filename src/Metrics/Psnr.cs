using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Metrics;

/// <summary>PSNR of images in [0, 1], as RAE's online evaluation: 20·log10(1 / sqrt(MSE)) per image.</summary>
public static class Psnr
{
    /// <summary>prediction, target: (B, C, H, W) in [0, 1] -> (B,) float64 decibels (infinity for identical images).</summary>
    public static Tensor PerImage(Tensor prediction, Tensor target)
    {
        ImageChecks.SameShape(prediction, target, "PSNR");
        using var scope = NewDisposeScope();
        var diff = prediction.detach().to(float64) - target.detach().to(prediction.device).to(float64);
        var mse = diff.square().flatten(1).mean([1]);
        return (20 * (1 / mse.sqrt()).log10()).MoveToOuterDisposeScope();
    }

    /// <summary>Mean of the per-image PSNR of a batch.</summary>
    public static double Mean(Tensor prediction, Tensor target)
    {
        using var perImage = PerImage(prediction, target);
        return perImage.mean().item<double>();
    }
}
