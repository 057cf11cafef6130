using RaePipeline.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Metrics;

/// <summary>
/// Mean and covariance of a feature distribution in float64, as the ADM evaluator's <c>compute_statistics</c>
/// (<c>np.mean(axis=0)</c>, <c>np.cov(rowvar=False)</c> with N - 1). Stored as <c>.npz</c> with arrays <c>mu</c> (D,)
/// and <c>sigma</c> (D, D), the layout of the common reference-batch statistics files.
/// </summary>
public sealed class GaussianStatistics : IDisposable
{
    public const string MeanKey = "mu";
    public const string CovarianceKey = "sigma";

    /// <summary>Copies the given tensors (float64, CPU); the caller keeps ownership of its arguments.</summary>
    /// <param name="mean">(D,).</param>
    /// <param name="covariance">(D, D).</param>
    public GaussianStatistics(Tensor mean, Tensor covariance)
    {
        if (mean.dim() != 1 || covariance.dim() != 2 || covariance.shape[0] != mean.shape[0] ||
            covariance.shape[1] != mean.shape[0])
            throw new ArgumentException(
                $"statistics need mu (D,) and sigma (D, D); found mu [{string.Join(", ", mean.shape)}] and sigma [{string.Join(", ", covariance.shape)}]");
        using var scope = NewDisposeScope();
        Mean = mean.detach().cpu().to(float64).clone().MoveToOuterDisposeScope();
        Covariance = covariance.detach().cpu().to(float64).clone().MoveToOuterDisposeScope();
    }

    /// <summary>(D,) float64.</summary>
    public Tensor Mean { get; }

    /// <summary>(D, D) float64, unbiased (N - 1).</summary>
    public Tensor Covariance { get; }

    public int Dimension => (int)Mean.shape[0];

    /// <summary>features: (N, D), any float dtype, N ≥ 2 -> statistics in float64.</summary>
    public static GaussianStatistics FromFeatures(Tensor features)
    {
        if (features.dim() != 2)
            throw new ArgumentException($"features must be (N, D); found [{string.Join(", ", features.shape)}]");
        long n = features.shape[0];
        if (n < 2)
            throw new ArgumentException($"a covariance needs at least 2 feature vectors; found {n}");
        Tensor mean, covariance;
        using (var scope = NewDisposeScope())
        {
            var x = features.detach().cpu().to(float64);
            var m = x.mean([0]);
            var centered = x - m;
            mean = m.MoveToOuterDisposeScope();
            covariance = (centered.t().matmul(centered) / (n - 1)).MoveToOuterDisposeScope();
        }
        using (mean)
        using (covariance)
            return new GaussianStatistics(mean, covariance);
    }

    /// <summary>Writes <c>mu</c> and <c>sigma</c> (float64) to an npz file, atomically.</summary>
    public void Save(string path) =>
        NpzFile.Write(path, [new(MeanKey, Mean), new(CovarianceKey, Covariance)]);

    /// <summary>Reads <c>mu</c> and <c>sigma</c> from an npz file (ADM reference batches, pytorch-fid statistics).</summary>
    public static GaussianStatistics Load(string path) => Load(path, MeanKey, CovarianceKey);

    /// <summary>
    /// Statistics stored under other keys (ADM's reference batches hold the sFID statistics as <c>mu_s</c>/<c>sigma_s</c>),
    /// or null when <paramref name="path"/> is not an npz file holding both arrays.
    /// </summary>
    public static GaussianStatistics? TryLoad(string path, string meanKey, string covarianceKey)
    {
        if (!File.Exists(path) || !path.EndsWith(".npz", StringComparison.OrdinalIgnoreCase)) return null;
        using (var zip = System.IO.Compression.ZipFile.OpenRead(path))
        {
            var names = zip.Entries.Select(e => e.FullName).ToHashSet(StringComparer.Ordinal);
            if (!names.Contains(meanKey + ".npy") || !names.Contains(covarianceKey + ".npy")) return null;
        }
        return Load(path, meanKey, covarianceKey);
    }

    static GaussianStatistics Load(string path, string meanKey, string covarianceKey)
    {
        var arrays = NpzFile.Read(path);
        try
        {
            if (!arrays.TryGetValue(meanKey, out var mean) || !arrays.TryGetValue(covarianceKey, out var covariance))
                throw new WeightsFormatException(
                    $"{path} holds no feature statistics: expected arrays '{meanKey}' and '{covarianceKey}', found {string.Join(", ", arrays.Keys.Select(k => $"'{k}'"))}",
                    path);
            if (mean.dim() != 1 || covariance.dim() != 2 || covariance.shape[0] != mean.shape[0] || covariance.shape[1] != mean.shape[0])
                throw new WeightsFormatException(
                    $"{path}: '{meanKey}' must be (D,) and '{covarianceKey}' (D, D); found [{string.Join(", ", mean.shape)}] and [{string.Join(", ", covariance.shape)}]",
                    path);
            return new GaussianStatistics(mean, covariance);
        }
        finally
        {
            foreach (var tensor in arrays.Values) tensor.Dispose();
        }
    }

    /// <summary>True when the npz file holds statistics (<c>mu</c>/<c>sigma</c>) rather than images.</summary>
    public static bool IsStatisticsFile(string path)
    {
        using var zip = System.IO.Compression.ZipFile.OpenRead(path);
        var names = zip.Entries.Select(e => e.FullName).ToHashSet(StringComparer.Ordinal);
        return names.Contains(MeanKey + ".npy") && names.Contains(CovarianceKey + ".npy");
    }

    public void Dispose()
    {
        Mean.Dispose();
        Covariance.Dispose();
    }
}
