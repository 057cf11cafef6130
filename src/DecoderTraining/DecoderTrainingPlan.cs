namespace RaePipeline.DecoderTraining;

/// <summary>The step counts a <c>train-decoder</c> run works with, from its options and the size of the data.</summary>
public sealed record DecoderTrainingPlan(
    long TotalSteps, long StepsPerEpoch, long WarmupSteps, long LpipsStartStep, long GanStartStep, long DiscUpdateStartStep)
{
    public static DecoderTrainingPlan From(TrainDecoderOptions options, long stepsPerEpoch)
    {
        if (stepsPerEpoch < 1) throw new ArgumentOutOfRangeException(nameof(stepsPerEpoch), stepsPerEpoch, "an epoch needs at least one batch");
        long total = options.Epochs > 0 ? options.Epochs * stepsPerEpoch : options.Steps;
        double unit = IsEpochs(options.Unit) ? stepsPerEpoch : 1;
        long Steps(double value) => (long)Math.Floor(value * unit);
        return new DecoderTrainingPlan(total, stepsPerEpoch, Math.Min(Steps(options.Warmup), total), Steps(options.LpipsStart),
            Steps(options.GanStart), Steps(options.DiscUpdateStart));
    }

    public static bool IsEpochs(string unit) => unit.Equals("epochs", StringComparison.OrdinalIgnoreCase);

    public static bool IsKnownUnit(string unit) => IsEpochs(unit) || unit.Equals("steps", StringComparison.OrdinalIgnoreCase);

    public override string ToString() =>
        $"{TotalSteps} steps ({StepsPerEpoch} per epoch), warmup {WarmupSteps}, LPIPS from step {LpipsStartStep}, " +
        $"discriminator updates from step {DiscUpdateStartStep}, GAN loss from step {GanStartStep}";
}
