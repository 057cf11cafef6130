using RaePipeline.Distributed;
using RaePipeline.Weights;
using TorchSharp;
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
        long n = batch.shape[0];
        if (n == 0) return;
        using var scope = NewDisposeScope();
        var x = batch.detach().to(float64);
        var batchMean = x.mean([0]);
        Merge(n, batchMean, (x - batchMean).square().sum([0]));
    }

    /// <summary>Adds <paramref name="other"/>'s latents, as if they had been added here (the merge of Chan et al.).</summary>
    public void Add(LatentStatisticsAccumulator other)
    {
        if (other.Count > 0) Merge(other.Count, other.mean!, other.squaredDeviations!);
    }

    /// <summary>
    /// The statistics of every rank's latents together (collective: every rank calls it): each rank's count, mean
    /// and squared deviations travel to every rank and are merged there in rank order, so every rank gets the same
    /// float64 result, equal to one process's over the same batches up to float64 rounding. A new accumulator.
    /// </summary>
    public LatentStatisticsAccumulator AcrossRanks(ProcessGroup group)
    {
        var result = new LatentStatisticsAccumulator();
        if (!group.IsDistributed)
        {
            result.Add(this);
            return result;
        }
        using var scope = NewDisposeScope();
        var counts = group.AllGatherEach(torch.tensor(new[] { Count }));
        var means = group.AllGatherEach(mean ?? torch.empty(0, float64));
        var deviations = group.AllGatherEach(squaredDeviations ?? torch.empty(0, float64));
        for (int rank = 0; rank < group.WorldSize; rank++)
            if (counts[rank].item<long>() is var n and > 0)
                result.Merge(n, means[rank], deviations[rank]);
        return result;
    }

    /// <summary>
    /// The running state as arrays, a shard's partial result on disk: <c>count</c> (1,) int64 and, once a latent was
    /// added, <c>mean</c> and <c>squared_deviations</c> (C, h, w) float64 (exact: <see cref="FromState"/> gives this accumulator back).
    /// </summary>
    public List<KeyValuePair<string, Tensor>> State()
    {
        var state = new List<KeyValuePair<string, Tensor>> { new("count", torch.tensor(new[] { Count })) };
        if (mean is not null && squaredDeviations is not null)
        {
            state.Add(new("mean", mean.alias()));
            state.Add(new("squared_deviations", squaredDeviations.alias()));
        }
        return state;
    }

    /// <summary>The accumulator whose <see cref="State"/> <paramref name="archive"/> holds; errors name the file.</summary>
    public static LatentStatisticsAccumulator FromState(NpzArchive archive)
    {
        var result = new LatentStatisticsAccumulator();
        using var count = archive.Read("count");
        long n = count.item<long>();
        if (n == 0) return result;
        if (!archive.Contains("mean") || !archive.Contains("squared_deviations"))
            throw new InvalidDataException($"{archive.Path}: the statistics of {n} latents lack 'mean' or 'squared_deviations'");
        using var stateMean = archive.Read("mean");
        using var stateDeviations = archive.Read("squared_deviations");
        result.Merge(n, stateMean, stateDeviations);
        return result;
    }

    /// <summary>Merges n latents with mean <paramref name="otherMean"/> and squared deviations <paramref name="otherDeviations"/> (C, h, w) into the running ones.</summary>
    void Merge(long n, Tensor otherMean, Tensor otherDeviations)
    {
        if (mean is not null && !otherMean.shape.SequenceEqual(mean.shape))
            throw new ArgumentException(
                $"latents of shape (B, {string.Join(", ", otherMean.shape)}) do not match earlier batches (B, {string.Join(", ", mean.shape)})");
        using var scope = NewDisposeScope();
        if (mean is null || squaredDeviations is null)
        {
            // The running state outlives any caller's per-batch dispose scope: it belongs to the accumulator.
            mean = otherMean.to(float64).clone().DetachFromDisposeScope();
            squaredDeviations = otherDeviations.to(float64).clone().DetachFromDisposeScope();
        }
        else
        {
            double total = Count + n;
            var delta = otherMean - mean;
            var newMean = mean + delta * (n / total);
            var newDeviations = squaredDeviations + otherDeviations + delta.square() * (Count * (double)n / total);
            mean.Dispose();
            squaredDeviations.Dispose();
            mean = newMean.DetachFromDisposeScope();
            squaredDeviations = newDeviations.DetachFromDisposeScope();
        }
        Count += n;
    }

    /// <summary>Running mean (C, h, w), float64.</summary>
    public Tensor Mean => mean ?? throw new InvalidOperationException("no latents were added");

    /// <summary>Population variance (C, h, w), float64 (torch <c>var(unbiased=False)</c>).</summary>
    public Tensor Variance => squaredDeviations is null
        ? throw new InvalidOperationException("no latents were added")
        : squaredDeviations / Count;

    /// <summary>
    /// The statistics in float32; without the mean when <paramref name="includeMean"/> is false (like DINOv2-B's
    /// release). <paramref name="perChannel"/> pools each channel over the h x w positions (the mean of the position
    /// means, and by the law of total variance the mean of the position variances plus the variance of the position
    /// means, exact since every position has the same count), repeated to (C, h, w) so the file keeps the official
    /// shape: for convolutional features, whose ReLU units can be silent at one position over the whole data, where a
    /// per-element variance near 0 turns a rare activation into a value of thousands.
    /// </summary>
    public LatentStatistics ToStatistics(bool includeMean = true, bool perChannel = false, double eps = LatentStatistics.DefaultEps)
    {
        using var scope = NewDisposeScope();
        var elementMean = Mean;
        var elementVariance = Variance;
        if (!perChannel)
            return new LatentStatistics(includeMean ? elementMean.to(float32).MoveToOuterDisposeScope() : null,
                elementVariance.to(float32).MoveToOuterDisposeScope(), eps);
        // (C, h, w) -> (C, 1, 1) -> (C, h, w)
        var channelMean = elementMean.mean([1, 2], keepdim: true);
        var channelVariance = (elementVariance + (elementMean - channelMean).square()).mean([1, 2], keepdim: true);
        Tensor Spread(Tensor perChannelValue) => perChannelValue.expand_as(elementMean).to(float32).contiguous().MoveToOuterDisposeScope();
        return new LatentStatistics(includeMean ? Spread(channelMean) : null, Spread(channelVariance), eps);
    }

    public void Dispose()
    {
        mean?.Dispose();
        squaredDeviations?.Dispose();
    }
}
