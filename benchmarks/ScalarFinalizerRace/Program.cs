using System.Diagnostics;
using System.Globalization;
using RaePipeline.Benchmarks;
using RaePipeline.Pipeline;
using static TorchSharp.torch;

// dotnet run --project benchmarks/ScalarFinalizerRace -c Release -- [--runs 20] [--seconds 10]
//   budget and renewal figures, then --runs child processes per mode (interleaved), each doing Scalar-heavy torch work
//   for --seconds beside a thread that allocates like a logger, and the count of those that crashed.
//   Modes: off; on (collections at safe points); on+worker (also a thread doing Scalar work as a prefetch worker does,
//   inside EnterBackgroundTorchWork); on+ungated-worker (the same worker without it: renewals may then collect while
//   the worker is inside a native call).
// -- --child MODE --seconds S: one such run (exit 0 when it finished).
var arguments = new BenchmarkArguments(args);
var child = arguments.String("child");
int seconds = arguments.Int("seconds", 10);
int runs = arguments.Int("runs", 20);
arguments.RejectUnknown();

string[] modes = ["off", "on", "on+worker", "on+ungated-worker"];
if (child != null)
    return ScalarWork(child != "off", worker: child.Contains("worker", StringComparison.Ordinal), gated: child == "on+worker", TimeSpan.FromSeconds(seconds));

ReportBudgets();
ReportBudgetCost();
ReportRenewalCost();
var crashed = modes.ToDictionary(mode => mode, _ => 0);
var self = Environment.ProcessPath!;
var entry = typeof(Program).Assembly.Location;
for (int run = 0; run < runs; run++)
    foreach (var mode in modes)
    {
        var start = new ProcessStartInfo(self) { RedirectStandardOutput = true, RedirectStandardError = true };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet") start.ArgumentList.Add(entry);
        foreach (var a in new[] { "--child", mode, "--seconds", seconds.ToString(CultureInfo.InvariantCulture) }) start.ArgumentList.Add(a);
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        var error = stderr.Result;
        bool scalarFailure = error.Contains("toFloat", StringComparison.Ordinal) || error.Contains("toLong", StringComparison.Ordinal) || error.Contains("toDouble", StringComparison.Ordinal);
        if (process.ExitCode != 0) crashed[mode]++;
        Console.WriteLine($"run {run + 1} safe points {mode}: {clock.Elapsed.TotalSeconds:F1} s, exit {process.ExitCode}{(scalarFailure ? " (Scalar::to* failure)" : "")} {stdout.Result.Trim()}");
        if (process.ExitCode != 0 && !scalarFailure) Console.WriteLine(string.Join('\n', error.Split('\n').Take(5)));
    }
Console.WriteLine($"crashed (of {runs} runs of {seconds} s): " + string.Join(", ", modes.Select(mode => $"safe points {mode} {crashed[mode]}")));
return 0;

// x.add(1.0), x.mul(0.5) and AdamW steps on this thread, a safe point per iteration (as a progress bar advance),
// while another thread allocates small objects continuously (as the loggers do, only much faster: collections become
// frequent, so the race shows within seconds instead of once in a day of runs).
static int ScalarWork(bool safePoints, bool worker, bool gated, TimeSpan duration)
{
    using var enabled = safePoints ? CollectionsAtSafePoints.Enable() : null;
    using var stop = new CancellationTokenSource();
    var allocator = new Thread(() =>
    {
        object? keep = null;
        while (!stop.IsCancellationRequested) keep = new byte[64] + keep?.GetHashCode().ToString(CultureInfo.InvariantCulture);
        GC.KeepAlive(keep);
    }) { IsBackground = true };
    allocator.Start();
    var prefetchWorker = new Thread(() =>
    {
        while (!stop.IsCancellationRequested)
        {
            using (gated ? CollectionsAtSafePoints.EnterBackgroundTorchWork() : null)
            using (NewDisposeScope())
            {
                var y = randn(4, 16);
                for (int i = 0; i < 50; i++) y = y.add(1.0).mul(0.5);
            }
            Thread.Sleep(1);
        }
    }) { IsBackground = true };
    if (worker) prefetchWorker.Start();
    var weight = nn.Parameter(randn(16, 16));
    var optimizer = optim.AdamW([weight], lr: 1e-3);
    var clock = Stopwatch.StartNew();
    long iterations = 0;
    int collections = GC.CollectionCount(0);
    using var bar = ProgressReporter.Silent.Start("stress", long.MaxValue);
    while (clock.Elapsed < duration)
    {
        using (NewDisposeScope())
        {
            var x = randn(4, 16);
            for (int i = 0; i < 50; i++) x = x.add(1.0).mul(0.5);
            optimizer.zero_grad();
            x.matmul(weight).square().mean().backward();
            optimizer.step();
        }
        bar.Advance();
        iterations++;
    }
    stop.Cancel();
    allocator.Join();
    if (worker) prefetchWorker.Join();
    Console.WriteLine($"{iterations} iterations, {GC.CollectionCount(0) - collections} gen0 collections, {CollectionsAtSafePoints.Renewals} renewals " +
        $"({CollectionsAtSafePoints.RenewalTime.TotalMilliseconds:F0} ms), {CollectionsAtSafePoints.RegionsEndedEarly} regions ended early");
    return 0;
}

// TryStartNoGCRegion with budgets of 16 MB .. 64 GB: which ones start a region (true), are refused (false: the
// memory could not be committed) or rejected (ArgumentOutOfRangeException: more than the GC's ephemeral space).
static void ReportBudgets()
{
    var line = new List<string>();
    for (long budget = 16L << 20; budget <= 64L << 30; budget *= 2)
    {
        string outcome;
        try
        {
            bool started = GC.TryStartNoGCRegion(budget);
            outcome = started && CollectionsAtSafePoints.InRegion ? "starts" : started ? "true but not in region" : "refused";
            if (CollectionsAtSafePoints.InRegion) GC.EndNoGCRegion();
        }
        catch (ArgumentOutOfRangeException)
        {
            outcome = "rejected";
        }
        line.Add($"{budget >> 20} MB {outcome}");
    }
    Console.WriteLine("no-GC budgets: " + string.Join(", ", line));
}

static void ReportBudgetCost()
{
    long before = ResidentBytes();
    using (CollectionsAtSafePoints.Enable())
    {
        long inRegion = ResidentBytes();
        var garbage = new List<byte[]>();
        while (garbage.Count < CollectionsAtSafePoints.RenewAfterBytes / 4096) garbage.Add(new byte[4000]);
        long filled = ResidentBytes();
        Console.WriteLine($"default budget {CollectionsAtSafePoints.BudgetBytes >> 20} MB, renew after {CollectionsAtSafePoints.RenewAfterBytes >> 20} MB: " +
            $"RSS {before >> 20} MB before, {inRegion >> 20} MB in the region, {filled >> 20} MB after allocating up to the threshold");
        Console.WriteLine();
        GC.KeepAlive(garbage);
    }
}

// A renewal is EndNoGCRegion + TryStartNoGCRegion: a full blocking collection of the managed heap, which holds the
// Tensor wrappers, a model's parameter objects and the host's own objects (small: the tensors' data are native).
static void ReportRenewalCost()
{
    using var model = nn.Sequential(Enumerable.Range(0, 24).Select(i => ((string, nn.Module<Tensor, Tensor>))($"l{i}", nn.Linear(64, 64))).ToArray());
    var parameters = model.parameters().ToList();
    long heap = GC.GetTotalMemory(forceFullCollection: true);
    using var enabled = CollectionsAtSafePoints.Enable();
    var times = new List<double>();
    int fullCollections = 0;
    for (int i = 0; i < 20; i++)
    {
        using (NewDisposeScope()) for (int j = 0; j < 2000; j++) _ = randn(4).add(1.0);
        int full = GC.CollectionCount(2);
        var clock = Stopwatch.StartNew();
        if (!CollectionsAtSafePoints.InRegion) throw new InvalidOperationException("the region ended before its renewal");
        GC.EndNoGCRegion();
        if (!GC.TryStartNoGCRegion(CollectionsAtSafePoints.BudgetBytes)) throw new InvalidOperationException("the region did not start again");
        times.Add(clock.Elapsed.TotalMilliseconds);
        fullCollections += GC.CollectionCount(2) - full;
    }
    times.Sort();
    Console.WriteLine($"renewal (full blocking GC, managed heap {heap >> 20} MB, {parameters.Count} parameters): " +
        $"median {times[times.Count / 2]:F2} ms, max {times[^1]:F2} ms, {fullCollections} full collections in {times.Count} renewals");
}

static long ResidentBytes()
{
    foreach (var line in File.ReadLines("/proc/self/status"))
        if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    return 0;
}
