using RaePipeline.Abstractions;

namespace RaePipeline.Benchmarks;

/// <summary>
/// One model in one precision; the JSON keys of ref_bench.py's results (<c>name</c>, <c>fwd_ms</c>, <c>train_ms</c>,
/// <c>sample_ms</c>, ...) plus <c>precision</c>. Times in seconds per run, medians in milliseconds.
/// </summary>
sealed class BackboneResult
{
    public required string Name { get; init; }
    public required Precision Precision { get; init; }
    public long Params { get; init; }
    public double FlopsFwd { get; init; }
    public double FlopsTrain { get; init; }
    public List<double> FwdSeconds { get; init; } = [];
    public List<double> TrainSeconds { get; init; } = [];
    public double FwdMs => 1e3 * BenchmarkClock.Median(FwdSeconds);
    public double TrainMs => 1e3 * BenchmarkClock.Median(TrainSeconds);

    /// <summary>The 50-step sample, null when not run.</summary>
    public SampleTiming? Sample { get; set; }

    public Dictionary<string, object?> ToJson(double peak) => new()
    {
        ["name"] = Name,
        ["precision"] = Precision.Name(),
        ["params"] = Params,
        ["flops_fwd"] = FlopsFwd,
        ["flops_train"] = FlopsTrain,
        ["fwd_s"] = FwdSeconds,
        ["fwd_ms"] = FwdMs,
        ["fwd_mfu"] = FlopsFwd / (FwdMs / 1e3) / peak,
        ["train_s"] = TrainSeconds,
        ["train_ms"] = TrainMs,
        ["train_mfu"] = FlopsTrain / (TrainMs / 1e3) / peak,
        ["sample_ms"] = Sample?.Milliseconds,
        ["sample_mode"] = Sample?.Mode,
        ["sample_total_s"] = Sample?.TotalSeconds,
        ["sample_step_ms"] = Sample is null ? null : 1e3 * BenchmarkClock.Median(Sample.StepSeconds),
        ["sample_step_s"] = Sample?.StepSeconds,
        ["sample_nfe"] = Sample?.FunctionEvaluations,
        ["flops_sample"] = Sample?.Flops,
        ["sample_mfu"] = Sample is null ? null : Sample.Flops / (Sample.Milliseconds / 1e3) / peak,
    };
}

/// <summary>
/// A timed 50-step CFG sample: full, or the first steps of the grid extrapolated to all of them (the per-step cost
/// does not depend on t), as ref_bench.py does when a full sample would take too long.
/// </summary>
sealed record SampleTiming(List<double> TotalSeconds, List<double> StepSeconds, int MeasuredSteps, int FunctionEvaluations,
    int Repeats, double Flops)
{
    public double Milliseconds => 1e3 * BenchmarkClock.Median(TotalSeconds) * FunctionEvaluations / MeasuredSteps;

    public string Mode => MeasuredSteps == FunctionEvaluations
        ? $"full {FunctionEvaluations} steps x{Repeats}"
        : $"first {MeasuredSteps} of {FunctionEvaluations} steps x{Repeats}, extrapolated";
}
