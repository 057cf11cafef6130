using Microsoft.Extensions.Logging;

namespace RaePipeline.Evaluation;

/// <summary>
/// The PNG charts of a comparison, beside its tables: a bar chart per metric column (but the sweep's x) over the runs
/// that recorded it (<c>{metric}.png</c>, the best run's bar highlighted) and of the wall time (<c>wall_time.png</c>), a line chart per
/// curve such as the training loss (<c>curve_{series}.png</c>, one line per run), and with a sweep a line chart per
/// quality metric against the sweep's x metric (<c>sweep_{metric}.png</c>, one line per value of the sweep's lines).
/// </summary>
public static class ComparisonCharts
{
    public static void Write(ComparisonReport report, SweepOptions? sweep, string folder, ILogger log)
    {
        var succeeded = report.Entries.Where(e => e.Summary is not null).ToList();
        if (succeeded.Count == 0) return;
        foreach (var metric in report.MetricNames.Where(m => !ComparisonReport.IsTiming(m) && m != sweep?.X))
        {
            var withValue = succeeded.Where(e => report.Value(e, metric) is { } v && double.IsFinite(v)).ToList();
            if (withValue.Count == 0)
            {
                log.LogWarning("compare: no run recorded the metric '{Metric}'; no chart", metric);
                continue;
            }
            var direction = MetricDirections.Of(metric);
            var values = withValue.Select(e => report.Value(e, metric)!.Value).ToList();
            Chart.Bars(Path.Combine(folder, FileName(metric) + ".png"), metric, withValue.Select(e => e.Run.Name).ToList(), values,
                direction.Best(values.Select(v => (double?)v).ToList()), direction);
        }
        var wallTimes = succeeded.Select(e => e.Summary!.WallTime.TotalSeconds).ToList();
        Chart.Bars(Path.Combine(folder, "wall_time.png"), "wall time (s)", succeeded.Select(e => e.Run.Name).ToList(), wallTimes);

        foreach (var series in succeeded.SelectMany(e => e.Summary!.Results.CurveNames).Distinct().Order(StringComparer.Ordinal))
        {
            var lines = succeeded
                .Select(e => new ChartSeries(e.Run.Name, e.Summary!.Results.Curve(series).Select(p => ((double)p.Step, p.Value)).ToList()))
                .Where(l => l.Points.Any(p => double.IsFinite(p.Y)))
                .ToList();
            if (lines.Count > 0)
                Chart.Lines(Path.Combine(folder, "curve_" + FileName(series) + ".png"), series, "step", series, lines);
        }

        if (sweep is not null)
            foreach (var metric in sweep.Y)
                WriteSweep(report, sweep, metric, folder, log);
    }

    /// <summary>One line per combination of the sweep's line entries, through the runs' (x, metric) points.</summary>
    static void WriteSweep(ComparisonReport report, SweepOptions sweep, string metric, string folder, ILogger log)
    {
        var lines = report.Entries
            .Where(e => report.Value(e, sweep.X) is { } x && double.IsFinite(x) && report.Value(e, metric) is { } y && double.IsFinite(y))
            .GroupBy(e => string.Join(" ", sweep.Lines.Select(key => e.Run.Settings.First(s => s.Key == key).Value.Display)))
            .Select(g => new ChartSeries(g.Key, g.Select(e => (report.Value(e, sweep.X)!.Value, report.Value(e, metric)!.Value)).ToList()))
            .ToList();
        if (lines.Count == 0)
        {
            log.LogWarning("compare: no run recorded both '{X}' and '{Metric}'; no sweep chart", sweep.X, metric);
            return;
        }
        var direction = MetricDirections.Of(metric);
        var title = direction == MetricDirection.None ? $"{metric} against {sweep.X}" : $"{metric} against {sweep.X} ({direction.Describe()})";
        var xLabel = sweep.X == SweepOptions.EvaluationsMetric ? "velocity evaluations per sample (sample/nfe)" : sweep.X;
        Chart.Lines(Path.Combine(folder, "sweep_" + FileName(metric) + ".png"), title, xLabel, metric, lines);
    }

    public static string FileName(string metric) =>
        string.Concat(metric.Select(c => char.IsLetterOrDigit(c) || c is '-' or '.' ? c : '_'));
}
