using YamlDotNet.RepresentationModel;

namespace RaePipeline.Evaluation;

/// <summary>Options of the <c>compare</c> job (YAML keys in snake_case).</summary>
public sealed class CompareOptions
{
    /// <summary>The placeholder in <c>set</c>, <c>matrix</c> and <c>yardstick</c> values that stands for this run's folder (absolute).</summary>
    public const string RunDirectoryPlaceholder = "{run_dir}";

    /// <summary>The pipeline file every run starts from (relative to this pipeline's folder; it may be this file: its <c>compare</c> job is skipped in the runs).</summary>
    public string Pipeline { get; set; } = "";

    /// <summary>
    /// Override path -> values; the runs are every combination (the first key varies slowest). A value is YAML text
    /// (<c>encoder.options.input_size: [224, 448]</c>), a whole block (<c>encoder: [{ name: onnx, weights: r18.onnx }]</c>),
    /// and may carry a short label for run names, tables and legends (<c>{ label: resnet18, name: onnx, ... }</c>,
    /// <c>{ label: fast, value: 10 }</c>); see <see cref="MatrixValue"/>. Paths inside values are relative to
    /// <see cref="Pipeline"/>'s folder, as any override of that file.
    /// </summary>
    public Dictionary<string, List<YamlNode>> Matrix { get; set; } = [];

    /// <summary>Overrides (<c>path.to.key=value</c>) applied to every run, e.g. fewer steps for a quick comparison.</summary>
    public List<string> Set { get; set; } = [];

    /// <summary>
    /// The feature extractor every run is scored with (its <c>feature_extractor</c> block, or just its name), the
    /// same for all runs; the matrix and <c>set</c> may not change it. Empty: the pipeline's own.
    /// </summary>
    public YamlNode? Yardstick { get; set; }

    /// <summary>Metrics in the tables and charts, in this order (e.g. <c>eval/fd_resnet18</c>); empty = every metric the runs recorded.</summary>
    public List<string> Metrics { get; set; } = [];

    /// <summary>Jobs of the pipeline the runs skip (besides <c>compare</c>), e.g. training that this run did before the comparison.</summary>
    public List<string> SkipJobs { get; set; } = [];

    /// <summary>Quality against cost: lines over the runs (e.g. one per sampler over the evaluation budgets).</summary>
    public SweepOptions? Sweep { get; set; }

    /// <summary>Sub-folder of the run folder holding one folder per run and the reports.</summary>
    public string Output { get; set; } = "compare";
}
