using System.Globalization;

namespace RaePipeline.Benchmarks;

/// <summary><c>--name value</c> pairs of a benchmark's command line; unknown names are an error once all are read.</summary>
sealed class BenchmarkArguments
{
    readonly Dictionary<string, string> values = new(StringComparer.Ordinal);

    public BenchmarkArguments(string[] args)
    {
        for (int i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
                throw new ArgumentException($"expected '--name value' pairs, found '{args[i]}'");
            values[args[i][2..]] = args[++i];
        }
    }

    public int Int(string name, int fallback) =>
        values.Remove(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

    public double Double(string name, double fallback) =>
        values.Remove(name, out var v) ? double.Parse(v, CultureInfo.InvariantCulture) : fallback;

    public string? String(string name) => values.Remove(name, out var v) ? v : null;

    /// <summary>A comma-separated list, or null when the option is absent.</summary>
    public string[]? List(string name) => String(name)?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Throws for every option no getter asked for.</summary>
    public void RejectUnknown()
    {
        if (values.Count > 0) throw new ArgumentException($"unknown options: {string.Join(", ", values.Keys.Select(k => "--" + k))}");
    }
}
