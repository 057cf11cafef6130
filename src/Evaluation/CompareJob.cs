using Microsoft.Extensions.Logging;
using RaePipeline.Pipeline;

namespace RaePipeline.Evaluation;

/// <summary>
/// <c>compare</c>: runs a pipeline once per combination of a <c>matrix:</c> of overrides (its own <c>compare</c> job
/// skipped), each into <c>{output}/{run}/</c>, and writes <c>{output}/results.md</c> and <c>results.csv</c> (settings,
/// wall time, throughput, every metric), a bar chart per metric (<c>{output}/{metric}.png</c>) and a line chart per
/// curve such as the training loss (<c>{output}/curve_{series}.png</c>, one line per run). A run that fails is reported
/// in the tables and the others still run; the job fails at the end if any run did.
/// </summary>
public sealed class CompareJob : Job<CompareOptions>
{
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
        }
        foreach (var assignment in options.Set)
            if (assignment.IndexOf('=') <= 0)
                yield return new JobProblem("set", $"'{assignment}' is not an override of the form path.to.key=value");
        if (string.IsNullOrWhiteSpace(options.Output)) yield return new JobProblem("output", "output must name a sub-folder of the run folder");
    }

    protected override void Run(JobContext context, CompareOptions options)
    {
        var log = context.Logger(Name);
        var pipeline = context.ResolvePath(options.Pipeline);
        if (!File.Exists(pipeline)) throw new FileNotFoundException($"compare: pipeline file not found: {pipeline}", pipeline);
        var runs = MatrixRun.Expand(options.Matrix);
        var outputFolder = Path.GetDirectoryName(context.RunPath(options.Output, "results.md"))!;
        log.LogInformation("compare: {Count} runs of {Pipeline} into {Folder}", runs.Count, pipeline, outputFolder);

        var entries = new List<ComparisonEntry>();
        foreach (var run in runs)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            var overrides = options.Set.Concat(run.Overrides).ToList();
            log.LogInformation("compare: run {Run} ({Overrides})", run.Name, string.Join(", ", run.Overrides));
            try
            {
                var summary = context.Runner.Run(pipeline, overrides, Path.Combine(outputFolder, run.Name),
                    new HashSet<string>(StringComparer.Ordinal) { Name });
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

        var report = new ComparisonReport(entries);
        AtomicText(Path.Combine(outputFolder, "results.md"), report.ToMarkdown());
        AtomicText(Path.Combine(outputFolder, "results.csv"), report.ToCsv());
        WriteCharts(report, options, outputFolder, log);

        var failed = entries.Where(e => e.Error is not null).ToList();
        if (failed.Count > 0)
            throw new InvalidOperationException(
                $"compare: {failed.Count} of {entries.Count} runs failed ({string.Join("; ", failed.Select(f => $"{f.Run.Name}: {f.Error}"))}); see {Path.Combine(outputFolder, "results.md")}");
    }

    static void WriteCharts(ComparisonReport report, CompareOptions options, string folder, ILogger log)
    {
        var succeeded = report.Entries.Where(e => e.Summary is not null).ToList();
        if (succeeded.Count == 0) return;
        var metrics = options.Metrics.Count > 0
            ? options.Metrics
            : report.MetricNames.Where(m => !ComparisonReport.IsTiming(m)).ToList();
        foreach (var metric in metrics)
        {
            var withValue = succeeded.Where(e => report.Value(e, metric) is { } v && double.IsFinite(v)).ToList();
            if (withValue.Count == 0)
            {
                log.LogWarning("compare: no run recorded the metric '{Metric}'; no chart", metric);
                continue;
            }
            Chart.Bars(Path.Combine(folder, FileName(metric) + ".png"), metric,
                withValue.Select(e => e.Run.Name).ToList(), withValue.Select(e => report.Value(e, metric)!.Value).ToList());
        }
        Chart.Bars(Path.Combine(folder, "wall_time.png"), "wall time (s)",
            succeeded.Select(e => e.Run.Name).ToList(), succeeded.Select(e => e.Summary!.WallTime.TotalSeconds).ToList());
        foreach (var series in succeeded.SelectMany(e => e.Summary!.Results.CurveNames).Distinct().Order(StringComparer.Ordinal))
        {
            var lines = succeeded
                .Select(e => (e.Run.Name, e.Summary!.Results.Curve(series)))
                .Where(l => l.Item2.Any(p => double.IsFinite(p.Value)))
                .ToList();
            if (lines.Count > 0)
                Chart.Lines(Path.Combine(folder, "curve_" + FileName(series) + ".png"), series, lines);
        }
    }

    static string FileName(string metric) =>
        string.Concat(metric.Select(c => char.IsLetterOrDigit(c) || c is '-' or '.' ? c : '_'));

    static void AtomicText(string path, string text) =>
        Weights.AtomicFile.Write(path, stream => stream.Write(System.Text.Encoding.UTF8.GetBytes(text)));
}
