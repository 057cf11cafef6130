using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Metrics;

/// <summary>Inception Score over consecutive splits: <see cref="Mean"/> is the number the ADM evaluator reports.</summary>
public readonly record struct InceptionScoreResult(double Mean, double StandardDeviation, int Splits);

/// <summary>
/// Inception Score as the ADM evaluator's <c>compute_inception_score</c>: the class probabilities are cut into
/// consecutive splits of <c>split_size</c> rows (default 5000, the last split may be shorter); per split
/// exp(mean_i KL(p_i || mean_j p_j)); the score is the mean over splits. Computed in float64; 0·log 0 counts as 0.
/// </summary>
public static class InceptionScore
{
    public const int DefaultSplitSize = 5000;

    /// <summary>probabilities: (N, K), rows summing to 1 (softmax outputs).</summary>
    public static InceptionScoreResult Compute(Tensor probabilities, int splitSize = DefaultSplitSize)
    {
        if (probabilities.dim() != 2 || probabilities.shape[0] == 0)
            throw new ArgumentException($"class probabilities must be (N, K) with N ≥ 1; found [{string.Join(", ", probabilities.shape)}]");
        if (splitSize < 1) throw new ArgumentOutOfRangeException(nameof(splitSize), splitSize, "split size must be at least 1");
        using var scope = NewDisposeScope();
        var p = probabilities.detach().cpu().to(float64);
        if (!p.isfinite().all().item<bool>() || p.min().item<double>() < 0)
            throw new ArgumentException("class probabilities contain NaN, infinity or negative values");
        var scores = new List<double>();
        for (long begin = 0; begin < p.shape[0]; begin += splitSize)
        {
            using var splitScope = NewDisposeScope();
            var part = p[TensorIndex.Slice(begin, Math.Min(begin + splitSize, p.shape[0]))];
            var marginal = part.mean([0], keepdim: true);
            var kl = part.xlogy(part) - part.xlogy(marginal);
            scores.Add(Math.Exp(kl.sum(1).mean().item<double>()));
        }
        double mean = scores.Average();
        double std = Math.Sqrt(scores.Sum(s => (s - mean) * (s - mean)) / scores.Count);
        return new InceptionScoreResult(mean, std, scores.Count);
    }
}
