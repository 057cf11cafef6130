using static TorchSharp.torch;

namespace RaePipeline.Samplers.Tests;

/// <summary>Per-channel empirical mean and unbiased variance of (B, C, h, w) samples, over B h w values each.</summary>
sealed record ChannelStatistics(double[] Means, double[] Variances, long Count)
{
    public static ChannelStatistics Of(Tensor x)
    {
        using var scope = NewDisposeScope();
        var perChannel = x.to(float64).transpose(0, 1).reshape(x.shape[1], -1);
        return new ChannelStatistics(
            perChannel.mean([1]).data<double>().ToArray(),
            perChannel.var(1, unbiased: true).data<double>().ToArray(),
            perChannel.shape[1]);
    }

    /// <summary>Standard error of the mean of n normal values of variance v: sqrt(v / n).</summary>
    public double MeanStandardError(double variance) => Math.Sqrt(variance / Count);

    /// <summary>Standard error of the unbiased sample variance of n normal values: v sqrt(2 / (n - 1)).</summary>
    public double VarianceStandardError(double variance) => variance * Math.Sqrt(2.0 / (Count - 1));
}
