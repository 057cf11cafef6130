using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Metrics;

/// <summary>Improved precision (samples inside the reference manifold) and recall (references inside the sample manifold).</summary>
public readonly record struct PrecisionRecallResult(double Precision, double Recall);

/// <summary>
/// Improved precision and recall (Kynkäänniemi et al. 2019) as the ADM evaluator's <c>ManifoldEstimator</c> with
/// k = 3: each set's manifold is the union of balls around its points whose squared radius is the squared distance to
/// the k-th nearest neighbour within the set (the point itself is the 0-th); precision is the fraction of samples
/// inside the reference manifold, recall the fraction of references inside the sample manifold (distance ≤ radius,
/// compared as squared distances). Distances are computed blockwise (<see cref="BlockSize"/> rows × columns at a
/// time) in float32; ADM first tries float16 and falls back to float32 on overflow, so its numbers can differ
/// slightly for points right at a ball's boundary.
/// </summary>
public sealed class PrecisionRecall
{
    public const int DefaultNeighbourhood = 3;

    public int Neighbourhood { get; init; } = DefaultNeighbourhood;

    /// <summary>Rows and columns per block of the distance matrix (memory: BlockSize² floats per block).</summary>
    public int BlockSize { get; init; } = 4096;

    /// <summary>reference: (N_r, D), samples: (N_s, D) features, both with more than k rows.</summary>
    public PrecisionRecallResult Compute(Tensor reference, Tensor samples)
    {
        if (reference.dim() != 2 || samples.dim() != 2 || reference.shape[1] != samples.shape[1])
            throw new ArgumentException(
                $"precision/recall needs (N, D) reference and sample features of the same D; found [{string.Join(", ", reference.shape)}] and [{string.Join(", ", samples.shape)}]");
        using var scope = NewDisposeScope();
        var r = reference.detach().to(float32);
        var s = samples.detach().to(float32).to(r.device);
        var radiiReference = ManifoldRadii(r);
        var radiiSamples = ManifoldRadii(s);
        double precision = FractionInside(s, r, radiiReference);
        double recall = FractionInside(r, s, radiiSamples);
        return new PrecisionRecallResult(precision, recall);
    }

    /// <summary>features: (N, D) float32 -> (N,) squared distance of each point to its k-th nearest neighbour in the set.</summary>
    public Tensor ManifoldRadii(Tensor features)
    {
        long n = features.shape[0];
        if (n <= Neighbourhood)
            throw new ArgumentException($"a k = {Neighbourhood} manifold needs more than {Neighbourhood} feature vectors; found {n}");
        using var scope = NewDisposeScope();
        var radii = empty(n, dtype: float32, device: features.device);
        for (long begin = 0; begin < n; begin += BlockSize)
        {
            using var rowScope = NewDisposeScope();
            var rows = features[TensorIndex.Slice(begin, Math.Min(begin + BlockSize, n))];
            Tensor? nearest = null;
            for (long colBegin = 0; colBegin < n; colBegin += BlockSize)
            {
                var distances = SquaredDistances(rows, features[TensorIndex.Slice(colBegin, Math.Min(colBegin + BlockSize, n))]);
                var candidates = nearest is null ? distances : cat([nearest, distances], 1);
                int keep = (int)Math.Min(Neighbourhood + 1, candidates.shape[1]);
                nearest = candidates.topk(keep, dim: 1, largest: false, sorted: true).values;
            }
            radii[TensorIndex.Slice(begin, begin + rows.shape[0])] = nearest![TensorIndex.Colon, Neighbourhood];
        }
        return radii.MoveToOuterDisposeScope();
    }

    /// <summary>Fraction of <paramref name="points"/> (N, D) within the squared radius of some <paramref name="centres"/> (M, D).</summary>
    double FractionInside(Tensor points, Tensor centres, Tensor squaredRadii)
    {
        long n = points.shape[0], m = centres.shape[0];
        long inside = 0;
        for (long begin = 0; begin < n; begin += BlockSize)
        {
            using var rowScope = NewDisposeScope();
            var rows = points[TensorIndex.Slice(begin, Math.Min(begin + BlockSize, n))];
            var found = zeros(rows.shape[0], dtype: @bool, device: points.device);
            for (long colBegin = 0; colBegin < m; colBegin += BlockSize)
            {
                var slice = TensorIndex.Slice(colBegin, Math.Min(colBegin + BlockSize, m));
                var distances = SquaredDistances(rows, centres[slice]);
                found = found.logical_or(distances.le(squaredRadii[slice].unsqueeze(0)).any(1));
            }
            inside += found.sum().item<long>();
        }
        return (double)inside / n;
    }

    /// <summary>u: (N, D), v: (M, D) -> (N, M) max(|u|² - 2 u·v + |v|², 0), as ADM's <c>_batch_pairwise_distances</c>.</summary>
    static Tensor SquaredDistances(Tensor u, Tensor v)
    {
        var normU = u.square().sum(1, keepdim: true);
        var normV = v.square().sum(1).unsqueeze(0);
        return (normU - 2 * u.matmul(v.t()) + normV).clamp_min(0);
    }
}
