using System.Diagnostics;
using System.Globalization;
using RaePipeline.Distributed;
using RaePipeline.Distributed.Benchmarks;

// Usage: dotnet run -c Release --project benchmarks/Distributed -- [--ranks 2] [--rounds 2] [--threads 1] [--batch 4]
//        [--steps 3] [--warmup 1] [--depth 12] [--sizes 4096,262144,...] [--no-single-copy]
// Starts itself alone (1 rank) and under mpirun (N ranks) in turn, `rounds` times, and prints all-reduce bandwidth
// and training throughput. With --child it is one rank of such a run.
var options = BenchmarkOptions.Parse(args);
if (options.Child)
{
    var report = RankMeasurement.Run(ProcessGroup.World, options);
    if (ProcessGroup.World.IsMain) Console.WriteLine(report.ToLine());
    return 0;
}

var mpirun = MpiRun.Find();
if (mpirun == null)
{
    Console.Error.WriteLine($"mpirun not found: {MpiRun.InstallHint}");
    return 1;
}
// This program again: `dotnet <dll>` when run by the dotnet host, else its own executable (what `dotnet run` starts).
var host = Environment.ProcessPath ?? "dotnet";
string[] self = Path.GetFileNameWithoutExtension(host) == "dotnet" ? [host, typeof(RankReport).Assembly.Location] : [host];
Console.WriteLine($"distributed bench: {options.Ranks} ranks x {options.Threads} thread(s) against 1 rank x {options.Threads} thread(s), " +
                  $"LightningDiT-S (depth {options.Depth}) on random 768x16x16 latents, batch {options.Batch} per rank, " +
                  $"{options.Steps} timed steps after {options.Warmup}, {options.Rounds} rounds, {Environment.ProcessorCount} CPUs");
var single = new List<RankReport>();
var several = new List<RankReport>();
for (int round = 0; round < options.Rounds; round++)
{
    single.Add(Launch(self[0], [.. self[1..], .. options.ChildArguments()]));
    several.Add(Launch(mpirun, [.. MpiRun.Options(options.Ranks, singleCopy: options.SingleCopy), .. self, .. options.ChildArguments()]));
}

var last = several[^1];
Console.WriteLine();
Console.WriteLine($"all-reduce (float32, {options.Ranks} ranks, {last.Backend}, {(options.SingleCopy ? "CMA single copy" : "copies through shared memory")}; " +
                  "best of the rounds' medians; bus bandwidth = algorithm x 2(n-1)/n):");
Console.WriteLine($"{"bytes",12} {"ms",10} {"algorithm GB/s",15} {"bus GB/s",10}");
for (int i = 0; i < options.Sizes.Length; i++)
{
    double seconds = several.Select(r => r.AllReduceSeconds[i]).Order().First();
    double algorithm = options.Sizes[i] / seconds / 1e9;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{options.Sizes[i],12} {seconds * 1e3,10:F3} {algorithm,15:F3} {algorithm * 2 * (options.Ranks - 1) / options.Ranks,10:F3}"));
}
double Median(IEnumerable<double> values) => values.Order().ElementAt(values.Count() / 2);
double singleStep = Median(single.SelectMany(r => r.StepSeconds));
double severalStep = Median(several.SelectMany(r => r.StepSeconds));
double averaging = Median(several.SelectMany(r => r.AveragingSeconds));
double singleRate = options.Batch / singleStep, severalRate = options.Ranks * options.Batch / severalStep;
const double Target = 1.8;
double speedUp = severalRate / singleRate;
Console.WriteLine();
Console.WriteLine($"training ({last.Parameters:N0} parameters, {last.Parameters * 4 / 1e6:F0} MB of gradients; median step of the slowest rank; " +
                  $"each rank {options.Batch} samples per step):");
Console.WriteLine($"{"ranks x threads",16} {"global batch",13} {"s/step",9} {"samples/s",10} {"averaging ms",13} {"averaging GB/s",15} {"speed-up",9}");
string singleLabel = $"1 x {options.Threads}", severalLabel = $"{options.Ranks} x {options.Threads}";
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"{singleLabel,16} {options.Batch,13} {singleStep,9:F3} {singleRate,10:F2} {"-",13} {"-",15} {1.0,8:F2}x"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"{severalLabel,16} {options.Ranks * options.Batch,13} {severalStep,9:F3} {severalRate,10:F2} {averaging * 1e3,13:F1} " +
    $"{last.Parameters * 4 / averaging / 1e9,15:F2} {speedUp,8:F2}x"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"throughput {options.Ranks} ranks / 1 rank: {speedUp:F2}x (target >= {Target:F1}x for 2 ranks: {(speedUp >= Target ? "met" : "not met")}; " +
    $"meaningful only on an otherwise idle machine)"));
return 0;

static RankReport Launch(string program, IEnumerable<string> arguments)
{
    var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, UseShellExecute = false };
    foreach (var argument in arguments) start.ArgumentList.Add(argument);
    using var process = Process.Start(start)!;
    var output = process.StandardOutput.ReadToEnd();
    process.WaitForExit();
    return RankReport.FromOutput(output)
        ?? throw new InvalidOperationException($"{program} exited with {process.ExitCode} without a result:\n{output}");
}
