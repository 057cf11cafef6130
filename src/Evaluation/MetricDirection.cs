namespace RaePipeline.Evaluation;

/// <summary>Which way a metric improves, for marking the best run of a comparison.</summary>
public enum MetricDirection
{
    /// <summary>No better way (a count, a setting, an unknown metric): nothing is marked.</summary>
    None,
    Lower,
    Higher,
}

/// <summary>
/// The direction of a metric from the last segment of its name (<c>eval/trained/fd_dinov2</c> -> <c>fd_dinov2</c>):
/// distances (<c>fd</c>, <c>fid</c>, <c>sfid</c>, <c>kid</c>, each alone or with a <c>_yardstick</c> suffix), losses and
/// times are lower-is-better; probe accuracy, precision, recall, Inception Score, PSNR, SSIM and throughputs
/// (<c>*_per_second</c>) are higher-is-better.
/// </summary>
public static class MetricDirections
{
    static readonly string[] Distances = ["fd", "fid", "sfid", "kid"];
    static readonly string[] LowerLeaves = ["loss", "final_loss", "final_l1", "seconds", "wall_seconds", "seconds_per_image"];
    static readonly string[] HigherLeaves = ["accuracy", "precision", "recall", "is", "psnr", "ssim"];

    public static MetricDirection Of(string metric)
    {
        var leaf = metric[(metric.LastIndexOf('/') + 1)..].ToLowerInvariant();
        if (Distances.Any(d => leaf == d || leaf.StartsWith(d + "_", StringComparison.Ordinal)) || LowerLeaves.Contains(leaf))
            return MetricDirection.Lower;
        if (HigherLeaves.Contains(leaf) || leaf.EndsWith("_per_second", StringComparison.Ordinal))
            return MetricDirection.Higher;
        return MetricDirection.None;
    }

    /// <summary>
    /// The index of the best of <paramref name="values"/> (null entries are missing), or null when the direction is
    /// none or the finite values do not differ (nothing to single out).
    /// </summary>
    public static int? Best(this MetricDirection direction, IReadOnlyList<double?> values)
    {
        if (values.Where(v => v is { } x && double.IsFinite(x)).Distinct().Count() < 2) return null;
        int? best = null;
        for (int i = 0; i < values.Count; i++)
        {
            if (values[i] is not { } v || !double.IsFinite(v)) continue;
            if (best is null || (direction == MetricDirection.Lower ? v < values[best.Value]!.Value : v > values[best.Value]!.Value))
                best = i;
        }
        return direction == MetricDirection.None ? null : best;
    }

    public static string Describe(this MetricDirection direction) => direction switch
    {
        MetricDirection.Lower => "lower is better",
        MetricDirection.Higher => "higher is better",
        _ => "",
    };
}
