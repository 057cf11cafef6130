using System.Globalization;
using System.Text;
using RaePipeline.Pipeline;

namespace RaePipeline.Evaluation;

/// <summary>The outcome of one run of a comparison: its settings and summary, or the error that stopped it.</summary>
public sealed record ComparisonEntry(MatrixRun Run, RunSummary? Summary, string? Error);

/// <summary>
/// Tables of a comparison, as Markdown and CSV: one row per run (named by its labels) with its settings (labels where
/// given), wall time, the metrics asked for in the order asked (all it recorded when none are asked: throughputs
/// first, then the others by name), and its status. In Markdown each metric's header says which way is better
/// (↓ / ↑, see <see cref="MetricDirections"/>) and the best value of the column is bold.
/// </summary>
public sealed class ComparisonReport(IReadOnlyList<ComparisonEntry> entries, IReadOnlyList<string> metrics)
{
    public IReadOnlyList<ComparisonEntry> Entries => entries;

    /// <summary>Setting keys in matrix order.</summary>
    public IReadOnlyList<string> SettingKeys => entries.SelectMany(e => e.Run.Settings.Select(s => s.Key)).Distinct().ToList();

    /// <summary>The metric columns: those asked for, in that order, or every metric the runs recorded.</summary>
    public IReadOnlyList<string> MetricNames => metrics.Count > 0
        ? metrics
        : entries
            .Where(e => e.Summary is not null)
            .SelectMany(e => e.Summary!.Results.Metrics.Keys)
            .Distinct()
            .OrderBy(n => IsThroughput(n) ? 0 : 1)
            .ThenBy(n => n, StringComparer.Ordinal)
            .ToList();

    public static bool IsThroughput(string metric) => metric.EndsWith("_per_second", StringComparison.Ordinal);

    /// <summary>Timing bookkeeping (<c>job/seconds</c>) that is not worth a chart of its own.</summary>
    public static bool IsTiming(string metric) => metric.EndsWith("/seconds", StringComparison.Ordinal);

    public double? Value(ComparisonEntry entry, string metric) =>
        entry.Summary?.Results.Metrics.TryGetValue(metric, out var v) == true ? v : null;

    /// <summary>The index in <see cref="Entries"/> of the run with the best value of <paramref name="metric"/>, or null.</summary>
    public int? Best(string metric) => MetricDirections.Of(metric).Best(entries.Select(e => Value(e, metric)).ToList());

    public string ToMarkdown()
    {
        var header = new List<string> { "run" };
        header.AddRange(SettingKeys);
        header.Add("wall time (s)");
        header.AddRange(MetricNames.Select(m => MetricDirections.Of(m) switch
        {
            MetricDirection.Lower => m + " ↓",
            MetricDirection.Higher => m + " ↑",
            _ => m,
        }));
        header.Add("status");
        var text = new StringBuilder();
        text.AppendLine("| " + string.Join(" | ", header.Select(EscapeMarkdown)) + " |");
        text.AppendLine("|" + string.Concat(header.Select(_ => " --- |")));
        var best = MetricNames.Select(m => Best(m) is { } i ? Value(entries[i], m) : null).ToList();
        foreach (var entry in entries)
        {
            var row = Leading(entry).Select(EscapeMarkdown).ToList();
            for (int m = 0; m < MetricNames.Count; m++)
            {
                var value = Value(entry, MetricNames[m]);
                var cell = value is { } v ? Format(v) : "";
                row.Add(value is not null && value == best[m] ? $"**{cell}**" : cell);
            }
            row.Add(EscapeMarkdown(Status(entry)));
            text.AppendLine("| " + string.Join(" | ", row) + " |");
        }
        if (best.Any(b => b is not null))
            text.AppendLine().AppendLine("Best value of each column in bold (↓ lower is better, ↑ higher is better).");
        return text.ToString();
    }

    public string ToCsv()
    {
        var header = new List<string> { "run" };
        header.AddRange(SettingKeys);
        header.Add("wall_seconds");
        header.AddRange(MetricNames);
        header.Add("status");
        var text = new StringBuilder();
        text.AppendLine(string.Join(",", header.Select(EscapeCsv)));
        foreach (var entry in entries)
        {
            var row = Leading(entry);
            row.AddRange(MetricNames.Select(m => Value(entry, m) is { } v ? Format(v) : ""));
            row.Add(Status(entry));
            text.AppendLine(string.Join(",", row.Select(EscapeCsv)));
        }
        return text.ToString();
    }

    /// <summary>Run name, settings (labels where given) and wall time.</summary>
    List<string> Leading(ComparisonEntry entry)
    {
        var row = new List<string> { entry.Run.Name };
        var settings = entry.Run.Settings.ToDictionary(s => s.Key, s => s.Value.Display);
        row.AddRange(SettingKeys.Select(k => settings.GetValueOrDefault(k, "")));
        row.Add(entry.Summary is null ? "" : Format(entry.Summary.WallTime.TotalSeconds));
        return row;
    }

    static string Status(ComparisonEntry entry) => entry.Error is null ? "ok" : "failed: " + entry.Error;

    static string Format(double value) => value.ToString("G6", CultureInfo.InvariantCulture);

    static string EscapeMarkdown(string text) => text.Replace("|", "\\|").Replace("\r", " ").Replace("\n", " ");

    static string EscapeCsv(string text) =>
        text.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + text.Replace("\"", "\"\"") + "\"" : text;
}
