using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using RaePipeline.Weights;

namespace RaePipeline.Pipeline;

/// <summary>
/// Numbers a run produces: scalar metrics (<c>metrics.json</c>) and curves such as the training loss
/// (<c>curves.csv</c>: series, step, value), both in the run folder, rewritten whole (atomically) after every job and
/// by training jobs before each checkpoint.
/// </summary>
public sealed class RunResults
{
    readonly SortedDictionary<string, double> metrics = new(StringComparer.Ordinal);
    readonly SortedDictionary<string, List<(long Step, double Value)>> curves = new(StringComparer.Ordinal);
    readonly object gate = new();

    public void Record(string name, double value)
    {
        lock (gate) metrics[name] = value;
    }

    public void AddPoint(string series, long step, double value)
    {
        lock (gate)
        {
            if (!curves.TryGetValue(series, out var list)) curves[series] = list = [];
            list.Add((step, value));
        }
    }

    public IReadOnlyDictionary<string, double> Metrics
    {
        get { lock (gate) return new Dictionary<string, double>(metrics); }
    }

    public IReadOnlyList<(long Step, double Value)> Curve(string series)
    {
        lock (gate) return curves.TryGetValue(series, out var list) ? list.ToList() : [];
    }

    public IReadOnlyList<string> CurveNames
    {
        get { lock (gate) return curves.Keys.ToList(); }
    }

    /// <summary>
    /// Replaces every series whose name starts with <paramref name="prefix"/> by the points of <paramref name="saved"/>'s
    /// series of that prefix up to <paramref name="lastStep"/>: a training job resumed at a checkpoint continues its
    /// curves from what was saved, dropping the points after the checkpoint (they are computed again).
    /// </summary>
    public void RestoreCurves(RunResults saved, string prefix, long lastStep)
    {
        if (ReferenceEquals(saved, this)) throw new ArgumentException("restore from another RunResults", nameof(saved));
        var kept = saved.CurveNames.Where(n => n.StartsWith(prefix, StringComparison.Ordinal))
            .ToDictionary(n => n, n => saved.Curve(n).Where(p => p.Step <= lastStep).ToList(), StringComparer.Ordinal);
        lock (gate)
        {
            foreach (var name in curves.Keys.Where(n => n.StartsWith(prefix, StringComparison.Ordinal)).ToList()) curves.Remove(name);
            foreach (var (name, points) in kept.Where(k => k.Value.Count > 0)) curves[name] = points;
        }
    }

    public void Save(string runDirectory)
    {
        Directory.CreateDirectory(runDirectory);
        var json = new JsonObject();
        var csv = new StringBuilder("series,step,value\n");
        lock (gate)
        {
            foreach (var (k, v) in metrics) json[k] = double.IsFinite(v) ? v : null;
            foreach (var (name, points) in curves)
                foreach (var (step, value) in points)
                    csv.Append(CultureInfo.InvariantCulture, $"{name},{step},{value:R}\n");
        }
        WriteText(Path.Combine(runDirectory, MetricsFile), json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        WriteText(Path.Combine(runDirectory, CurvesFile), csv.ToString());
    }

    public const string MetricsFile = "metrics.json";
    public const string CurvesFile = "curves.csv";

    /// <summary>Writes the file atomically, first removing temporaries an earlier, killed write left beside it.</summary>
    static void WriteText(string path, string text)
    {
        foreach (var leftover in Directory.GetFiles(Path.GetDirectoryName(path)!, Path.GetFileName(path) + ".tmp-*"))
            File.Delete(leftover);
        AtomicFile.Write(path, stream =>
        {
            using var writer = new StreamWriter(stream, leaveOpen: true);
            writer.Write(text);
        });
    }

    /// <summary>Reads what <see cref="Save"/> wrote.</summary>
    public static RunResults Load(string runDirectory)
    {
        var results = new RunResults();
        var metricsPath = Path.Combine(runDirectory, MetricsFile);
        if (File.Exists(metricsPath))
            foreach (var (k, v) in JsonNode.Parse(File.ReadAllText(metricsPath))!.AsObject())
                results.Record(k, v?.GetValue<double>() ?? double.NaN);
        var curvesPath = Path.Combine(runDirectory, CurvesFile);
        if (File.Exists(curvesPath))
            foreach (var line in File.ReadLines(curvesPath).Skip(1))
            {
                var parts = line.Split(',');
                if (parts.Length == 3)
                    results.AddPoint(parts[0], long.Parse(parts[1], CultureInfo.InvariantCulture),
                        double.Parse(parts[2], CultureInfo.InvariantCulture));
            }
        return results;
    }
}
