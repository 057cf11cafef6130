namespace RaePipeline.Evaluation;

/// <summary>Options of the <c>compare</c> job (YAML keys in snake_case).</summary>
public sealed class CompareOptions
{
    /// <summary>The pipeline file every run starts from (relative to this pipeline's folder; it may be this file: its <c>compare</c> job is skipped in the runs).</summary>
    public string Pipeline { get; set; } = "";

    /// <summary>
    /// Override path -> values, e.g. <c>encoder.options.input_size: [224, 448]</c>; the runs are every combination
    /// (the first key varies slowest). Values are YAML text, so a list value is written as a string: <c>"[0.0, 0.7]"</c>.
    /// </summary>
    public Dictionary<string, List<string>> Matrix { get; set; } = [];

    /// <summary>Overrides (<c>path.to.key=value</c>) applied to every run, e.g. fewer steps for a quick comparison.</summary>
    public List<string> Set { get; set; } = [];

    /// <summary>Metrics to chart per run (e.g. <c>eval/fid</c>); empty = every metric the runs recorded except timings.</summary>
    public List<string> Metrics { get; set; } = [];

    /// <summary>Sub-folder of the run folder holding one folder per run and the reports.</summary>
    public string Output { get; set; } = "compare";
}
