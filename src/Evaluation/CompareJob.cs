using Microsoft.Extensions.Logging;
using RaePipeline.Pipeline;
using YamlDotNet.RepresentationModel;

namespace RaePipeline.Evaluation;

/// <summary>
/// <c>compare</c>: runs a pipeline once per combination of a <c>matrix:</c> of overrides (whole blocks or single
/// values, each optionally labelled; its own <c>compare</c> job and the <c>skip_jobs</c> skipped), each into
/// <c>{output}/{run}/</c>, every run scored with one fixed yardstick (<c>yardstick:</c>, the feature extractor), and
/// writes <c>{output}/results.md</c> and <c>results.csv</c> (settings, wall time, the metrics asked for with the best
/// of each marked) and the charts of <see cref="ComparisonCharts"/>. A run that fails is reported in the tables and
/// the others still run; the job fails at the end if any run did.
/// </summary>
public sealed class CompareJob : Job<CompareOptions>
{
    const string YardstickPath = "feature_extractor";

    public override string Name => "compare";

    public override string Description =>
        "run a pipeline for every combination of a matrix of overrides and tabulate/chart their metrics, curves, wall time and throughput";

    protected override IEnumerable<JobProblem> Validate(JobValidationContext context, CompareOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.Pipeline))
            yield return new JobProblem("pipeline", "compare needs the pipeline file each run starts from (it may be this file)");
        if (options.Matrix.Count == 0)
            yield return new JobProblem("matrix", "compare needs a matrix of override paths and values, e.g. encoder.options.input_size: [224, 448]");
        foreach (var (key, values) in options.Matrix)
        {
            if (values.Count == 0) yield return new JobProblem($"matrix.{key}", $"matrix entry '{key}' has no values");
            if (key.Contains('=')) yield return new JobProblem($"matrix.{key}", $"matrix keys are override paths without '=': '{key}'");
            if (ChangesYardstick(key))
                yield return new JobProblem($"matrix.{key}", $"matrix entry '{key}' would change the yardstick between runs: the feature extractor is fixed for a comparison (set it once with 'yardstick:')");
            foreach (var problem in values.Select(v => LabelProblem(v, key)).OfType<string>())
                yield return new JobProblem($"matrix.{key}", problem);
        }
        foreach (var assignment in options.Set)
        {
            int equals = assignment.IndexOf('=');
            if (equals <= 0) yield return new JobProblem("set", $"'{assignment}' is not an override of the form path.to.key=value");
            else if (ChangesYardstick(assignment[..equals]))
                yield return new JobProblem("set", $"'{assignment}' sets the feature extractor: give the comparison's yardstick once with 'yardstick:'");
        }
        if (options.Yardstick is { } yardstick && YardstickBlock(yardstick) is null)
            yield return new JobProblem("yardstick", "yardstick must name a feature extractor ('yardstick: resnet18') or be its block ('{ name: ..., weights: ..., options: ... }')");
        if (options.Sweep is { } sweep)
        {
            if (sweep.Y.Count == 0) yield return new JobProblem("sweep.y", "sweep needs the metrics to chart against the x axis, e.g. y: [eval/fd_resnet18]");
            if (string.IsNullOrWhiteSpace(sweep.X)) yield return new JobProblem("sweep.x", "sweep.x must name a metric");
            if (sweep.Lines.Count == 0) yield return new JobProblem("sweep.lines", "sweep needs the matrix entries whose values make the lines, e.g. lines: [sampler]");
            foreach (var line in sweep.Lines.Where(l => !options.Matrix.ContainsKey(l)))
                yield return new JobProblem("sweep.lines", $"'{line}' is not an entry of the matrix ({string.Join(", ", options.Matrix.Keys)})");
        }
        if (string.IsNullOrWhiteSpace(options.Output)) yield return new JobProblem("output", "output must name a sub-folder of the run folder");
    }

    protected override void Run(JobContext context, CompareOptions options)
    {
        var log = context.Logger(Name);
        var pipeline = context.ResolvePath(options.Pipeline);
        if (!File.Exists(pipeline)) throw new FileNotFoundException($"compare: pipeline file not found: {pipeline}", pipeline);
        var runs = MatrixRun.Expand(options.Matrix);
        var outputFolder = Path.GetDirectoryName(context.RunPath(options.Output, "results.md"))!;
        string Resolve(string text) => text.Replace(CompareOptions.RunDirectoryPlaceholder, context.RunDirectory, StringComparison.Ordinal);
        var shared = options.Set.Select(Resolve).ToList();
        if (options.Yardstick is { } yardstick) shared.Add($"{YardstickPath}={Resolve(YamlText.Of(YardstickBlock(yardstick)!))}");
        else if (options.Matrix.Keys.Any(k => Normalize(k).StartsWith("encoder", StringComparison.Ordinal)))
            log.LogWarning("compare: the matrix changes the encoder but no yardstick is set: unless the pipeline names a feature_extractor, each run's distances live in its own encoder's feature space and do not rank the encoders");
        var skip = new HashSet<string>(options.SkipJobs.Append(Name), StringComparer.Ordinal);
        log.LogInformation("compare: {Count} runs of {Pipeline} into {Folder}", runs.Count, pipeline, outputFolder);

        var entries = new List<ComparisonEntry>();
        foreach (var run in runs)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            var overrides = shared.Concat(run.Overrides.Select(Resolve)).ToList();
            log.LogInformation("compare: run {Run} ({Settings})", run.Name, string.Join(", ", run.Settings.Select(s => $"{s.Key}: {s.Value.Display}")));
            try
            {
                var summary = context.Runner.Run(pipeline, overrides, Path.Combine(outputFolder, run.Name), skip);
                entries.Add(new ComparisonEntry(run, summary, null));
                foreach (var (metric, value) in summary.Results.Metrics)
                    context.Results.Record($"{options.Output}/{run.Name}/{metric}", value);
                context.Results.Record($"{options.Output}/{run.Name}/wall_seconds", summary.WallTime.TotalSeconds);
                log.LogInformation("compare: run {Run} finished in {Seconds:F1} s", run.Name, summary.WallTime.TotalSeconds);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                log.LogError("compare: run {Run} failed: {Message}", run.Name, e.Message);
                entries.Add(new ComparisonEntry(run, null, e.Message));
            }
        }

        var columns = options.Metrics.Count == 0 ? options.Metrics
            : options.Metrics.Concat(options.Sweep is { } sweep ? sweep.Y.Prepend(sweep.X) : []).Distinct().ToList();
        var report = new ComparisonReport(entries, columns);
        AtomicText(Path.Combine(outputFolder, "results.md"), report.ToMarkdown());
        AtomicText(Path.Combine(outputFolder, "results.csv"), report.ToCsv());
        ComparisonCharts.Write(report, options.Sweep, outputFolder, log);

        var failed = entries.Where(e => e.Error is not null).ToList();
        if (failed.Count > 0)
            throw new InvalidOperationException(
                $"compare: {failed.Count} of {entries.Count} runs failed ({string.Join("; ", failed.Select(f => $"{f.Run.Name}: {f.Error}"))}); see {Path.Combine(outputFolder, "results.md")}");
    }

    /// <summary>The feature extractor block a yardstick stands for: a name becomes <c>{ name: ... }</c>; null if it is neither.</summary>
    static YamlMappingNode? YardstickBlock(YamlNode yardstick) => yardstick switch
    {
        YamlScalarNode { Value: { Length: > 0 } name } => new YamlMappingNode(new YamlScalarNode("name"), new YamlScalarNode(name)),
        YamlMappingNode block when block.Children.ContainsKey(new YamlScalarNode("name")) => block,
        _ => null,
    };

    static bool ChangesYardstick(string path)
    {
        var normalized = Normalize(path);
        var yardstick = Normalize(YardstickPath);
        return normalized == yardstick || normalized.StartsWith(yardstick + ".", StringComparison.Ordinal);
    }

    /// <summary>Lower case without '_' and '-', as the host matches YAML keys.</summary>
    static string Normalize(string path) => new(path.Trim().Where(c => c != '_' && c != '-').Select(char.ToLowerInvariant).ToArray());

    static string? LabelProblem(YamlNode value, string key)
    {
        try
        {
            MatrixValue.From(value, key);
            return null;
        }
        catch (ArgumentException e)
        {
            return e.Message;
        }
    }

    static void AtomicText(string path, string text) =>
        Weights.AtomicFile.Write(path, stream => stream.Write(System.Text.Encoding.UTF8.GetBytes(text)));
}
