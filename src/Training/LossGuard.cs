using System.Globalization;

namespace RaePipeline.Training;

/// <summary>
/// Stops a training run whose loss went wrong, before the optimizer applies the step: a loss that is NaN or infinite,
/// or one that diverged without getting there (lr 1000 gave a finite 6.5e28). Divergence is measured against a
/// yardstick of the same batch that does not depend on the model, the loss of a trivial prediction (zero velocity in
/// stage 2, a mid-gray image in stage 1): a loss <c>max_loss_ratio</c> times above it means the model's outputs are
/// far larger than anything it is asked for. The messages name the job, the step and the learning rate and say what
/// to change.
/// </summary>
/// <param name="job">The job name the messages start with.</param>
/// <param name="maxRatio">The largest loss / yardstick ratio accepted; 0 checks only for NaN and infinity.</param>
/// <param name="hint">What the user can change, e.g. "lower the learning rate (schedule.lr) or enable gradient clipping (clip_grad)".</param>
public sealed class LossGuard(string job, double maxRatio, string hint)
{
    public double MaxRatio { get; } = maxRatio;

    /// <summary>
    /// Checks the loss <paramref name="name"/> of step <paramref name="step"/> (1-based, as logged); throws
    /// <see cref="TrainingDivergedException"/> when it is not finite, or, with a <paramref name="yardstick"/>, when it
    /// exceeds <see cref="MaxRatio"/> times the yardstick.
    /// </summary>
    public void Check(long step, string name, double loss, double learningRate, double? yardstick = null)
    {
        if (!double.IsFinite(loss))
            throw new TrainingDivergedException(string.Create(CultureInfo.InvariantCulture,
                $"{job}: the {name} is {loss} at step {step} (lr {learningRate:G4}): training diverged; {hint}"), step);
        if (MaxRatio > 0 && yardstick is { } reference && loss > MaxRatio * reference)
            throw new TrainingDivergedException(string.Create(CultureInfo.InvariantCulture,
                $"{job}: the {name} is {loss:G4} at step {step} (lr {learningRate:G4}), {loss / reference:G3} times the loss of a " +
                $"trivial prediction on that batch ({reference:G4}; max_loss_ratio {MaxRatio:G4}): training diverged; {hint}"), step);
    }
}

/// <summary>A training run stopped because its loss became non-finite or diverged; the message names the step.</summary>
public sealed class TrainingDivergedException(string message, long step) : Exception(message)
{
    public long Step { get; } = step;
}
