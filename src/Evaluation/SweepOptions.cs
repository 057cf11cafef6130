namespace RaePipeline.Evaluation;

/// <summary>
/// The <c>sweep:</c> block of <c>compare</c>: a line chart per <see cref="Y"/> metric against <see cref="X"/>, one
/// line per value of the <see cref="Lines"/> matrix entries; the runs that differ only in the other matrix entries
/// (e.g. <c>sampler.options.num_steps</c>) are the points of a line.
/// </summary>
public sealed class SweepOptions
{
    /// <summary>The metric velocity evaluations per sample are recorded under by the <c>sample</c> job.</summary>
    public const string EvaluationsMetric = "sample/nfe";

    /// <summary>Matrix entries whose values make the lines, e.g. <c>[sampler]</c>.</summary>
    public List<string> Lines { get; set; } = [];

    /// <summary>The x axis: a metric of each run (default: velocity evaluations per sample).</summary>
    public string X { get; set; } = EvaluationsMetric;

    /// <summary>The quality metrics charted against <see cref="X"/>, one chart each.</summary>
    public List<string> Y { get; set; } = [];
}
