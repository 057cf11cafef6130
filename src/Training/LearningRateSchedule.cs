using System.Globalization;

namespace RaePipeline.Training;

/// <summary>
/// The <c>schedule:</c> block of a training job, in optimizer steps. <c>constant</c>: <c>lr</c> throughout.
/// <c>linear</c> (the official stage-2 scheduler): over the first <c>warmup_steps</c> either a linear ramp from 0
/// (<c>warmup_from_zero: true</c>) or constant <c>lr</c>, then a straight line to <c>final_lr</c> at
/// <c>decay_end_step</c>, constant after. <c>cosine</c> (the stage-1 recipe): linear ramp from 0 over
/// <c>warmup_steps</c>, then half a cosine from <c>lr</c> down to <c>final_lr</c> at <c>decay_end_step</c>,
/// constant after. The ramp gives <c>lr * step / warmup_steps</c> at step 0, 1, ... (step 0 is the first update).
/// </summary>
public sealed class LearningRateScheduleOptions
{
    /// <summary><c>constant</c>, <c>linear</c> or <c>cosine</c>.</summary>
    public string Type { get; set; } = "constant";

    /// <summary>Peak (base) learning rate.</summary>
    public double Lr { get; set; } = 2e-4;

    public double FinalLr { get; set; } = 2e-5;

    public long WarmupSteps { get; set; }

    /// <summary>Step at which the decay reaches <see cref="FinalLr"/>; 0 = the job's last step.</summary>
    public long DecayEndStep { get; set; }

    /// <summary>For <c>linear</c>: ramp up from 0 during the warmup instead of holding <see cref="Lr"/>.</summary>
    public bool WarmupFromZero { get; set; }
}

/// <summary>Learning rate as a function of the optimizer step (a pure function: the step is the schedule's whole state).</summary>
public sealed class LearningRateSchedule
{
    public enum Kind { Constant, Linear, Cosine }

    LearningRateSchedule(Kind kind, double lr, double finalLr, long warmupSteps, long decayEndStep, bool warmupFromZero)
    {
        Type = kind;
        Lr = lr;
        FinalLr = finalLr;
        WarmupSteps = warmupSteps;
        DecayEndStep = decayEndStep;
        WarmupFromZero = warmupFromZero;
    }

    public Kind Type { get; }
    public double Lr { get; }
    public double FinalLr { get; }
    public long WarmupSteps { get; }
    public long DecayEndStep { get; }
    public bool WarmupFromZero { get; }

    public static LearningRateSchedule Constant(double lr) => Create(Kind.Constant, lr, lr, 0, 0, false);

    public static LearningRateSchedule Linear(double lr, double finalLr, long warmupSteps, long decayEndStep, bool warmupFromZero) =>
        Create(Kind.Linear, lr, finalLr, warmupSteps, decayEndStep, warmupFromZero);

    public static LearningRateSchedule Cosine(double lr, double finalLr, long warmupSteps, long decayEndStep) =>
        Create(Kind.Cosine, lr, finalLr, warmupSteps, decayEndStep, true);

    /// <summary>From a YAML <c>schedule:</c> block; <paramref name="totalSteps"/> stands in for a zero <c>decay_end_step</c>.</summary>
    public static LearningRateSchedule From(LearningRateScheduleOptions options, long totalSteps)
    {
        long decayEnd = options.DecayEndStep > 0 ? options.DecayEndStep : totalSteps;
        return options.Type.ToLowerInvariant() switch
        {
            "constant" => Constant(options.Lr),
            "linear" => Linear(options.Lr, options.FinalLr, options.WarmupSteps, decayEnd, options.WarmupFromZero),
            "cosine" => Cosine(options.Lr, options.FinalLr, options.WarmupSteps, decayEnd),
            _ => throw new ArgumentException($"schedule.type '{options.Type}' is not known (expected constant, linear or cosine)"),
        };
    }

    /// <summary>Problems with the options, each naming its key (empty when fine).</summary>
    public static IEnumerable<(string Key, string Message)> Check(LearningRateScheduleOptions options, long totalSteps)
    {
        if (options.Type.ToLowerInvariant() is not ("constant" or "linear" or "cosine"))
            yield return ("schedule.type", $"'{options.Type}' is not known (expected constant, linear or cosine)");
        if (!(options.Lr > 0) || !double.IsFinite(options.Lr))
            yield return ("schedule.lr", $"must be a positive number, got {options.Lr}");
        if (options.FinalLr < 0 || !double.IsFinite(options.FinalLr))
            yield return ("schedule.final_lr", $"must be zero or positive, got {options.FinalLr}");
        if (options.WarmupSteps < 0)
            yield return ("schedule.warmup_steps", $"must be zero or positive, got {options.WarmupSteps}");
        long decayEnd = options.DecayEndStep > 0 ? options.DecayEndStep : totalSteps;
        if (options.Type.ToLowerInvariant() != "constant" && decayEnd < options.WarmupSteps)
            yield return ("schedule.decay_end_step", $"the decay ends at step {decayEnd}, before the warmup ends ({options.WarmupSteps})");
    }

    static LearningRateSchedule Create(Kind kind, double lr, double finalLr, long warmupSteps, long decayEndStep, bool warmupFromZero)
    {
        if (!(lr > 0)) throw new ArgumentException($"learning rate must be positive, got {lr}");
        if (finalLr < 0) throw new ArgumentException($"final learning rate must be zero or positive, got {finalLr}");
        if (warmupSteps < 0) throw new ArgumentException($"warmup steps must be zero or positive, got {warmupSteps}");
        if (kind != Kind.Constant && decayEndStep < warmupSteps)
            throw new ArgumentException($"the decay ends at step {decayEndStep}, before the warmup ends ({warmupSteps})");
        return new LearningRateSchedule(kind, lr, finalLr, warmupSteps, decayEndStep, warmupFromZero);
    }

    /// <summary>Learning rate of the update at <paramref name="step"/> (0 = first update).</summary>
    public double At(long step)
    {
        if (step < 0) throw new ArgumentOutOfRangeException(nameof(step), $"step {step} is negative");
        if (Type == Kind.Constant) return Lr;
        if (step < WarmupSteps) return WarmupFromZero ? Lr * step / WarmupSteps : Lr;
        if (step >= DecayEndStep) return FinalLr;
        double progress = (double)(step - WarmupSteps) / (DecayEndStep - WarmupSteps);
        return Type == Kind.Linear
            ? Lr + (FinalLr - Lr) * progress
            : FinalLr + (Lr - FinalLr) * 0.5 * (1 + Math.Cos(Math.PI * progress));
    }

    public override string ToString() => Type switch
    {
        Kind.Constant => string.Create(CultureInfo.InvariantCulture, $"constant {Lr:G4}"),
        Kind.Linear => string.Create(CultureInfo.InvariantCulture,
            $"linear: {(WarmupFromZero ? "ramp from 0" : "hold")} {Lr:G4} for {WarmupSteps} steps, to {FinalLr:G4} at step {DecayEndStep}"),
        _ => string.Create(CultureInfo.InvariantCulture,
            $"cosine: ramp from 0 to {Lr:G4} over {WarmupSteps} steps, to {FinalLr:G4} at step {DecayEndStep}"),
    };
}
