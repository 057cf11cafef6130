using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace RaePipeline.Pipeline;

/// <summary>
/// Numbers a run produces: scalar metrics (<c>metrics.json</c>) and curves such as the training loss
/// (<c>curves.csv</c>: series, step, value), both in the run folder, rewritten whole after every job.
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
        File.WriteAllText(Path.Combine(runDirectory, "metrics.json"),
            json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        File.WriteAllText(Path.Combine(runDirectory, "curves.csv"), csv.ToString());
    }

    /// <summary>Reads what <see cref="Save"/> wrote.</summary>
    public static RunResults Load(string runDirectory)
    {
        var results = new RunResults();
        var metricsPath = Path.Combine(runDirectory, "metrics.json");
        if (File.Exists(metricsPath))
            foreach (var (k, v) in JsonNode.Parse(File.ReadAllText(metricsPath))!.AsObject())
                results.Record(k, v?.GetValue<double>() ?? double.NaN);
        var curvesPath = Path.Combine(runDirectory, "curves.csv");
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
