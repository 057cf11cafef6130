using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace RaePipeline.Metrics;

/// <summary>
/// Structural similarity with torchmetrics' defaults (<c>structural_similarity_index_measure</c>): Gaussian window
/// 11×11 with sigma 1.5, k1 = 0.01, k2 = 0.03, reflection padding by 5 so the SSIM map has the image size, variances
/// clamped at 0, mean over the map per image. Images in [0, 1], so the data range is 1.
/// </summary>
public static class Ssim
{
    public const int WindowSize = 11;
    public const double Sigma = 1.5;
    const double K1 = 0.01;
    const double K2 = 0.03;

    /// <summary>prediction, target: (B, C, H, W) in [0, 1], H, W > 5 -> (B,) float64.</summary>
    public static Tensor PerImage(Tensor prediction, Tensor target, double dataRange = 1.0)
    {
        ImageChecks.SameShape(prediction, target, "SSIM");
        int pad = (WindowSize - 1) / 2;
        if (prediction.shape[2] <= pad || prediction.shape[3] <= pad)
            throw new ArgumentException($"SSIM's reflection padding needs images larger than {pad} pixels; found {prediction.shape[2]}x{prediction.shape[3]}");
        using var scope = NewDisposeScope();
        long batch = prediction.shape[0], channels = prediction.shape[1];
        var x = F.pad(prediction.detach().to(float64), [pad, pad, pad, pad], PaddingModes.Reflect);
        var y = F.pad(target.detach().to(prediction.device).to(float64), [pad, pad, pad, pad], PaddingModes.Reflect);
        var window = GaussianWindow(channels, prediction.device);
        var moments = F.conv2d(cat([x, y, x * x, y * y, x * y]), window, groups: channels).split(batch);
        var (muX, muY) = (moments[0], moments[1]);
        var muXX = muX * muX;
        var muYY = muY * muY;
        var muXY = muX * muY;
        var varX = (moments[2] - muXX).clamp_min(0);
        var varY = (moments[3] - muYY).clamp_min(0);
        var covXY = moments[4] - muXY;
        double c1 = Math.Pow(K1 * dataRange, 2), c2 = Math.Pow(K2 * dataRange, 2);
        var map = (2 * muXY + c1) * (2 * covXY + c2) / ((muXX + muYY + c1) * (varX + varY + c2));
        return map.reshape(batch, -1).mean([1]).MoveToOuterDisposeScope();
    }

    /// <summary>Mean SSIM of a batch (torchmetrics' <c>elementwise_mean</c> reduction).</summary>
    public static double Mean(Tensor prediction, Tensor target, double dataRange = 1.0)
    {
        using var perImage = PerImage(prediction, target, dataRange);
        return perImage.mean().item<double>();
    }

    /// <summary>(C, 1, 11, 11) float64: the outer product of a normalized 1-D Gaussian, one copy per channel.</summary>
    static Tensor GaussianWindow(long channels, Device device)
    {
        using var scope = NewDisposeScope();
        var offsets = arange(WindowSize, dtype: float64, device: device) - (WindowSize - 1) / 2.0;
        var gauss = (-(offsets / Sigma).square() / 2).exp();
        gauss /= gauss.sum();
        var window = gauss.unsqueeze(1).matmul(gauss.unsqueeze(0));
        return window.expand(channels, 1, WindowSize, WindowSize).contiguous().MoveToOuterDisposeScope();
    }
}
