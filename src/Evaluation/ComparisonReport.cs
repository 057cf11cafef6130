using System.Globalization;
using System.Text;
using RaePipeline.Pipeline;

namespace RaePipeline.Evaluation;

/// <summary>The outcome of one run of a comparison: its settings and summary, or the error that stopped it.</summary>
public sealed record ComparisonEntry(MatrixRun Run, RunSummary? Summary, string? Error);

/// <summary>
/// Tables of a comparison: one row per run with its settings, wall time, throughput (metrics named
/// <c>*_per_second</c>) and every scalar metric the runs recorded, as Markdown and CSV.
/// </summary>
public sealed class ComparisonReport(IReadOnlyList<ComparisonEntry> entries)
{
    public IReadOnlyList<ComparisonEntry> Entries => entries;

    /// <summary>Setting keys in matrix order.</summary>
    public IReadOnlyList<string> SettingKeys => entries.SelectMany(e => e.Run.Settings.Select(s => s.Key)).Distinct().ToList();

    /// <summary>Throughput metrics first, then the others, each group in ordinal order.</summary>
    public IReadOnlyList<string> MetricNames => entries
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

    public string ToMarkdown()
    {
        var header = new List<string> { "run" };
        header.AddRange(SettingKeys);
        header.Add("wall time (s)");
        header.AddRange(MetricNames);
        header.Add("status");
        var text = new StringBuilder();
        text.AppendLine("| " + string.Join(" | ", header.Select(EscapeMarkdown)) + " |");
        text.AppendLine("|" + string.Concat(header.Select(_ => " --- |")));
        foreach (var row in Rows()) text.AppendLine("| " + string.Join(" | ", row.Select(EscapeMarkdown)) + " |");
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
        foreach (var row in Rows()) text.AppendLine(string.Join(",", row.Select(EscapeCsv)));
        return text.ToString();
    }

    IEnumerable<List<string>> Rows()
    {
        foreach (var entry in entries)
        {
            var row = new List<string> { entry.Run.Name };
            var settings = entry.Run.Settings.ToDictionary(s => s.Key, s => s.Value);
            row.AddRange(SettingKeys.Select(k => settings.GetValueOrDefault(k, "")));
            row.Add(entry.Summary is null ? "" : Format(entry.Summary.WallTime.TotalSeconds));
            row.AddRange(MetricNames.Select(m => Value(entry, m) is { } v ? Format(v) : ""));
            row.Add(entry.Error is null ? "ok" : "failed: " + entry.Error);
            yield return row;
        }
    }

    static string Format(double value) => value.ToString("G6", CultureInfo.InvariantCulture);

    static string EscapeMarkdown(string text) => text.Replace("|", "\\|").Replace("\r", " ").Replace("\n", " ");

    static string EscapeCsv(string text) =>
        text.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + text.Replace("\"", "\"\"") + "\"" : text;
}
