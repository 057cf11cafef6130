using RaePipeline.Abstractions;

namespace RaePipeline.Benchmarks;

/// <summary>
/// The command line of the backbone benchmark; names and defaults as shared/bench/ref_bench.py's <c>bench</c>, plus
/// <c>--precision</c> (fp32, bf16, both).
/// </summary>
sealed record BackboneBenchmarkOptions(
    int Batch, int Repeats, int TrainRepeats, int Warmup, int Threads, string[]? Models, Precision[] Precisions,
    int Steps, int SampleRepeats, int SampleStepsLimit, double FullSampleMaxSeconds, double CfgScale, string? Json, bool Profile, bool CpuClock)
{
    public const string Usage =
        "dotnet run -c Release --project benchmarks/Backbones -- [--models DiTDH-S,DiTDH-B,LightningDiT-S,LightningDiT-B] " +
        "[--precision fp32|bf16|both] [--batch 8] [--repeats 3] [--train-repeats 3] [--warmup 1] [--threads N] " +
        "[--steps 50] [--sample-repeats 1 (0 skips sampling)] [--sample-steps-limit 8] [--full-sample-max-s 90] " +
        "[--cfg-scale 1.5] [--json results.json] [--profile 1 (where a forward's time goes, instead of the timings)] " +
        "[--clock wall|cpu (cpu: the process's CPU time, for --threads 1 on a shared machine)]";

    public static BackboneBenchmarkOptions Parse(string[] args)
    {
        var a = new BenchmarkArguments(args);
        var options = new BackboneBenchmarkOptions(
            a.Int("batch", 8), a.Int("repeats", 3), a.Int("train-repeats", 3), a.Int("warmup", 1),
            a.Int("threads", Environment.ProcessorCount), a.List("models"),
            BenchmarkPrecisions.Parse(a.String("precision"), [Precision.Fp32]),
            a.Int("steps", 50), a.Int("sample-repeats", 1), a.Int("sample-steps-limit", 8), a.Double("full-sample-max-s", 90),
            a.Double("cfg-scale", 1.5), a.String("json"), a.Int("profile", 0) != 0,
            a.String("clock") switch
            {
                null or "wall" => false,
                "cpu" => true,
                var other => throw new ArgumentException($"--clock {other}: expected wall or cpu"),
            });
        a.RejectUnknown();
        if (options.CpuClock && options.Threads != 1)
            throw new ArgumentException("--clock cpu needs --threads 1 (the CPU time of several threads is their sum, not the time a run takes)");
        return options;
    }
}
