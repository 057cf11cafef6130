using System.Diagnostics;
using static TorchSharp.torch;

namespace RaePipeline.Benchmarks;

/// <summary>
/// Timing as shared/bench/ref_bench.py does it: warm-ups, then timed repeats, medians. The clock is wall time, or,
/// with <see cref="ProcessCpuTime"/>, the CPU time of the whole process: on a shared machine a single-threaded run
/// then measures its own work, not the share of the core the other processes left it.
/// </summary>
static class BenchmarkClock
{
    /// <summary>Read the process's CPU time instead of wall time (meaningful for single-threaded runs).</summary>
    public static bool ProcessCpuTime { get; set; }

    /// <summary>The clock, in seconds from an arbitrary origin.</summary>
    public static double Now() => ProcessCpuTime
        ? Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds
        : Stopwatch.GetTimestamp() / (double)Stopwatch.Frequency;

    /// <summary>Runs <paramref name="step"/> <paramref name="warmup"/> times untimed, then <paramref name="repeats"/> times; seconds per run.</summary>
    public static List<double> Time(int warmup, int repeats, Action step)
    {
        for (int i = 0; i < warmup; i++) step();
        var times = new List<double>();
        for (int i = 0; i < repeats; i++)
        {
            double start = Now();
            step();
            times.Add(Now() - start);
        }
        return times;
    }

    public static double Median(IReadOnlyCollection<double> values)
    {
        var sorted = values.Order().ToList();
        int n = sorted.Count;
        return n == 0 ? double.NaN : n % 2 == 1 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
    }

    /// <summary>FLOP/s of an n³ matmul in <paramref name="type"/>: median of <paramref name="repeats"/> after 2 warm-ups.</summary>
    public static double MatmulRate(ScalarType type, long n = 2048, int repeats = 10)
    {
        using var a = randn(n, n).to(type);
        using var b = randn(n, n).to(type);
        var times = Time(2, repeats, () => { using var c = mm(a, b); });
        return 2.0 * n * n * n / Median(times);
    }
}
