using static TorchSharp.torch;

namespace RaePipeline.Metrics;

/// <summary>KID: the mean and (population) standard deviation of the subset estimates, and the subsets used.</summary>
public readonly record struct KernelDistanceResult(double Mean, double Std, int Subsets, int SubsetSize);

/// <summary>
/// Kernel Inception Distance (Binkowski et al. 2018) as torch-fidelity and clean-fid compute it: the unbiased
/// estimate of MMD^2 with the cubic polynomial kernel k(x, y) = (x·y / d + 1)^3, d the feature width, averaged over
/// random subsets (100 subsets of 1000 rows, the size capped at the smaller set as clean-fid does; each subset drawn
/// without replacement from each set by a seeded generator). Per subset of m rows:
/// MMD^2_u = sum_{i≠j} k(x_i, x_j) / (m (m - 1)) + sum_{i≠j} k(y_i, y_j) / (m (m - 1)) - 2 sum_{i,j} k(x_i, y_j) / m^2.
/// Computed in float64.
/// </summary>
public static class KernelInceptionDistance
{
    public const int DefaultSubsets = 100;
    public const int DefaultSubsetSize = 1000;

    /// <summary>a: (N_a, D), b: (N_b, D) features (any float dtype, any device) -> KID mean and std over the subsets.</summary>
    public static KernelDistanceResult Compute(Tensor a, Tensor b, int subsets = DefaultSubsets, int subsetSize = DefaultSubsetSize,
        long seed = 0)
    {
        if (a.dim() != 2 || b.dim() != 2 || a.shape[1] != b.shape[1])
            throw new ArgumentException(
                $"KID needs two feature sets (N, D) of the same width; found [{string.Join(", ", a.shape)}] and [{string.Join(", ", b.shape)}]");
        if (subsets < 1) throw new ArgumentOutOfRangeException(nameof(subsets), subsets, "KID needs at least one subset");
        var size = (int)Math.Min(subsetSize, Math.Min(a.shape[0], b.shape[0]));
        if (size < 2) throw new ArgumentException($"KID needs at least 2 rows in each set; found {a.shape[0]} and {b.shape[0]}");
        using var scope = NewDisposeScope();
        var x = a.detach().cpu().to(float64);
        var y = b.detach().cpu().to(float64);
        var generator = new Generator((ulong)seed);
        var values = new double[subsets];
        for (var s = 0; s < subsets; s++)
        {
            using var subsetScope = NewDisposeScope();
            var rowsA = randperm(x.shape[0], generator: generator)[..size];
            var rowsB = randperm(y.shape[0], generator: generator)[..size];
            values[s] = UnbiasedMmd2(x.index_select(0, rowsA), y.index_select(0, rowsB));
        }
        var mean = values.Average();
        var std = Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / values.Length);
        return new KernelDistanceResult(mean, std, subsets, size);
    }

    /// <summary>The unbiased MMD^2 of two sets of m rows each, x, y: (m, D), with the cubic polynomial kernel, float64.</summary>
    public static double UnbiasedMmd2(Tensor x, Tensor y)
    {
        if (x.shape[0] != y.shape[0] || x.shape[0] < 2)
            throw new ArgumentException($"the unbiased MMD^2 here takes two sets of the same size m ≥ 2; found {x.shape[0]} and {y.shape[0]}");
        using var scope = NewDisposeScope();
        x = x.to(float64);
        y = y.to(float64);
        double m = x.shape[0], d = x.shape[1];
        var kxx = Kernel(x, x, d);
        var kyy = Kernel(y, y, d);
        var kxy = Kernel(x, y, d);
        var sumXx = (kxx.sum() - kxx.diagonal().sum()).item<double>();
        var sumYy = (kyy.sum() - kyy.diagonal().sum()).item<double>();
        var sumXy = kxy.sum().item<double>();
        return (sumXx + sumYy) / (m * (m - 1)) - 2 * sumXy / (m * m);
    }

    static Tensor Kernel(Tensor x, Tensor y, double d) => (x.matmul(y.t()) / d + 1).pow(3);
}
