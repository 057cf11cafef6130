using System.Diagnostics;

namespace RaePipeline.Pipeline;

/// <summary>
/// Progress of long work: a bar with rate and ETA redrawn in place on a terminal, or a plain line every few
/// seconds when the output is redirected (logs, CI).
/// </summary>
public sealed class ProgressReporter(TextWriter? output, bool interactive, TimeSpan lineInterval)
{
    /// <summary>Reports nothing (tests, nested runs).</summary>
    public static ProgressReporter Silent { get; } = new(null, false, TimeSpan.MaxValue);

    /// <summary>Standard error; interactive when it is a terminal.</summary>
    public static ProgressReporter Console { get; } =
        new(System.Console.Error, !System.Console.IsErrorRedirected, TimeSpan.FromSeconds(10));

    public ProgressBar Start(string label, long total, string unit = "it") =>
        new(output, interactive, lineInterval, label, total, unit);
}

/// <summary>
/// One piece of long work: advance it, give it a status (loss, ...), dispose it when done. Every long loop of the jobs
/// advances one per step or batch, between native calls, so <see cref="Advance"/> and <see cref="SetDone"/> are the
/// job thread's safe points for garbage collections (<see cref="CollectionsAtSafePoints"/>), silent or not.
/// </summary>
public sealed class ProgressBar : IDisposable
{
    readonly TextWriter? output;
    readonly bool interactive;
    readonly TimeSpan lineInterval;
    readonly string label;
    readonly string unit;
    readonly Stopwatch clock = Stopwatch.StartNew();
    TimeSpan lastDrawn = TimeSpan.MinValue;
    long doneAtStart;
    string status = "";
    bool finished;

    internal ProgressBar(TextWriter? output, bool interactive, TimeSpan lineInterval, string label, long total, string unit)
    {
        this.output = output;
        this.interactive = interactive;
        this.lineInterval = lineInterval;
        this.label = label;
        this.unit = unit;
        Total = total;
    }

    public long Total { get; }
    public long Done { get; private set; }
    public TimeSpan Elapsed => clock.Elapsed;

    /// <summary>Items per second since the start (items done before <see cref="SetDone"/>, by an earlier run, do not count).</summary>
    public double Rate => (Done - doneAtStart) / Math.Max(clock.Elapsed.TotalSeconds, 1e-9);

    public void Advance(long count = 1, string? newStatus = null)
    {
        Done += count;
        if (newStatus != null) status = newStatus;
        Draw(force: false);
        CollectionsAtSafePoints.SafePoint();
    }

    /// <summary>Starts counting at <paramref name="done"/> (a resumed run): the rate and ETA count only what is done from here.</summary>
    public void SetDone(long done)
    {
        Done = done;
        doneAtStart = done;
        clock.Restart();
        CollectionsAtSafePoints.SafePoint();
    }

    public void Dispose()
    {
        if (finished) return;
        finished = true;
        Draw(force: true);
        if (interactive) output?.WriteLine();
    }

    void Draw(bool force)
    {
        if (output == null) return;
        var now = clock.Elapsed;
        var minimum = interactive ? TimeSpan.FromMilliseconds(200) : lineInterval;
        if (!force && lastDrawn != TimeSpan.MinValue && now - lastDrawn < minimum) return;
        lastDrawn = now;
        double fraction = Total > 0 ? Math.Min(1.0, (double)Done / Total) : 0;
        var eta = Rate > 0 && Total > Done ? TimeSpan.FromSeconds((Total - Done) / Rate) : TimeSpan.Zero;
        var bar = new string('#', (int)(fraction * 24)).PadRight(24, '.');
        var line = $"{label} [{bar}] {Done}/{Total} {unit} {Rate:F2} {unit}/s elapsed {Format(now)} ETA {Format(eta)} {status}";
        if (interactive) output.Write("\r" + line.PadRight(Math.Min(160, line.Length + 8)));
        else output.WriteLine(line);
        output.Flush();
    }

    static string Format(TimeSpan t) => t.TotalHours >= 1 ? t.ToString(@"h\:mm\:ss") : t.ToString(@"m\:ss");
}
