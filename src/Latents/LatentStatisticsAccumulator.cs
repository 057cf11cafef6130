using static TorchSharp.torch;

namespace RaePipeline.Latents;

/// <summary>
/// Per-element mean and (population) variance of latents (C, h, w) over a dataset in one pass: each batch's
/// float64 mean and sum of squared deviations are merged into the running ones with Chan et al.'s parallel
/// formula, so the result equals the statistics of the concatenated data up to float64 rounding, whatever the
/// batch sizes. (RAE's own script uses a momentum-0.1 running estimate instead, which depends on batch order.)
/// </summary>
public sealed class LatentStatisticsAccumulator : IDisposable
{
    Tensor? mean;           // (C, h, w) float64
    Tensor? squaredDeviations; // (C, h, w) float64: Σ (x − mean)²

    public long Count { get; private set; }

    // batch: (B, C, h, w), any float dtype
    public void Add(Tensor batch)
    {
        if (batch.dim() != 4)
            throw new ArgumentException($"latent batch must be (B, C, h, w), got [{string.Join(", ", batch.shape)}]");
        if (mean is not null && !batch.shape.Skip(1).SequenceEqual(mean.shape))
            throw new ArgumentException(
                $"latent batch [{string.Join(", ", batch.shape)}] does not match earlier batches (B, {string.Join(", ", mean.shape)})");
        long n = batch.shape[0];
        if (n == 0) return;
        using var scope = NewDisposeScope();
        var x = batch.detach().to(float64);
        var batchMean = x.mean([0]);
        var batchDeviations = (x - batchMean).square().sum([0]);
        if (mean is null || squaredDeviations is null)
        {
            mean = batchMean.MoveToOuterDisposeScope();
            squaredDeviations = batchDeviations.MoveToOuterDisposeScope();
        }
        else
        {
            double total = Count + n;
            var delta = batchMean - mean;
            var newMean = mean + delta * (n / total);
            var newDeviations = squaredDeviations + batchDeviations + delta.square() * (Count * (double)n / total);
            mean.Dispose();
            squaredDeviations.Dispose();
            mean = newMean.MoveToOuterDisposeScope();
            squaredDeviations = newDeviations.MoveToOuterDisposeScope();
        }
        Count += n;
    }

    /// <summary>Running mean (C, h, w), float64.</summary>
    public Tensor Mean => mean ?? throw new InvalidOperationException("no latents were added");

    /// <summary>Population variance (C, h, w), float64 (torch <c>var(unbiased=False)</c>).</summary>
    public Tensor Variance => squaredDeviations is null
        ? throw new InvalidOperationException("no latents were added")
        : squaredDeviations / Count;

    /// <summary>The statistics in float32; without the mean when <paramref name="includeMean"/> is false (like DINOv2-B's release).</summary>
    public LatentStatistics ToStatistics(bool includeMean = true, double eps = LatentStatistics.DefaultEps)
    {
        using var variance = Variance;
        return new LatentStatistics(includeMean ? Mean.to(float32) : null, variance.to(float32), eps);
    }

    public void Dispose()
    {
        mean?.Dispose();
        squaredDeviations?.Dispose();
    }
}
