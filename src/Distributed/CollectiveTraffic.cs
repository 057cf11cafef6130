using System.Globalization;

namespace RaePipeline.Distributed;

/// <summary>
/// What the collectives of a process group moved and how long they took, per kind (all-reduce, broadcast,
/// gather, barrier): calls, payload bytes (this rank's buffer) and seconds, so the bandwidth a run reaches is
/// visible (bytes / seconds is the "algorithm bandwidth" of nccl-tests).
/// </summary>
public sealed class CollectiveTraffic
{
    readonly Dictionary<string, (long Calls, long Bytes, double Seconds)> totals = new(StringComparer.Ordinal);
    readonly object gate = new();

    public void Add(string kind, long bytes, TimeSpan elapsed)
    {
        lock (gate)
        {
            var (calls, total, seconds) = totals.GetValueOrDefault(kind);
            totals[kind] = (calls + 1, total + bytes, seconds + elapsed.TotalSeconds);
        }
    }

    /// <summary>Totals of one kind of collective (zeros when none ran).</summary>
    public (long Calls, long Bytes, double Seconds) Of(string kind)
    {
        lock (gate) return totals.GetValueOrDefault(kind);
    }

    /// <summary>Bytes per second of one kind of collective so far (0 when none ran).</summary>
    public double Bandwidth(string kind)
    {
        var (_, bytes, seconds) = Of(kind);
        return seconds > 0 ? bytes / seconds : 0;
    }

    /// <summary>One line per kind: <c>all-reduce: 120 calls, 1.2 GB in 0.50 s (2.4 GB/s)</c>.</summary>
    public override string ToString()
    {
        lock (gate)
            return totals.Count == 0
                ? "no collectives"
                : string.Join("; ", totals.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => string.Create(CultureInfo.InvariantCulture,
                    $"{t.Key}: {t.Value.Calls} calls, {FormatBytes(t.Value.Bytes)} in {t.Value.Seconds:F2} s ({FormatBytes(t.Value.Seconds > 0 ? (long)(t.Value.Bytes / t.Value.Seconds) : 0)}/s)")));
    }

    /// <summary><c>512 B</c>, <c>4.0 kB</c>, <c>25.0 MB</c>, <c>1.20 GB</c> (powers of 1000).</summary>
    public static string FormatBytes(long bytes) => bytes switch
    {
        < 1000 => string.Create(CultureInfo.InvariantCulture, $"{bytes} B"),
        < 1_000_000 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1e3:F1} kB"),
        < 1_000_000_000 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1e6:F1} MB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1e9:F2} GB"),
    };
}
