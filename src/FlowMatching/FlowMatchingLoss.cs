using RaePipeline.Abstractions;
using static TorchSharp.torch;

namespace RaePipeline.FlowMatching;

/// <summary>
/// The stage-2 training loss (official <c>Transport.training_losses</c>, velocity prediction, no loss weight):
/// eps ~ N(0, I), t from the time distribution then shifted, x_t = (1 - t) z + t eps, target eps - z,
/// loss = mean over (C, h, w) of (model(x_t, t, y) - target)^2 per sample. The caller averages over the batch.
/// </summary>
public sealed class FlowMatchingLoss(TimeDistribution times, TimeShift shift)
{
    public TimeDistribution Times { get; } = times;

    public TimeShift Shift { get; } = shift;

    /// <summary>
    /// z: (B, C, h, w) clean (normalized) latents; y: (B,) labels. Draws eps then t (the official order, so a
    /// generator seeded like PyTorch's global one gives the same draws) and evaluates the loss.
    /// </summary>
    public FlowMatchingLossTerms Compute(VelocityField model, Tensor z, Tensor y, Generator? generator = null)
    {
        using var scope = NewDisposeScope();
        var eps = randn(z.shape, dtype: z.dtype, generator: generator).to(z.device);
        var t = Times.Sample(z.shape[0], Shift, generator, z.device);
        var terms = Evaluate(model, z, eps, t, y);
        terms.MoveToOuterDisposeScope();
        return terms;
    }

    /// <summary>The loss for given noise and (already shifted) times. z, eps: (B, C, h, w); t: (B,); y: (B,).</summary>
    public static FlowMatchingLossTerms Evaluate(VelocityField model, Tensor z, Tensor eps, Tensor t, Tensor y)
    {
        if (!z.shape.SequenceEqual(eps.shape))
            throw new ArgumentException($"noise shape [{string.Join(", ", eps.shape)}] differs from the latents' [{string.Join(", ", z.shape)}]");
        using var scope = NewDisposeScope();
        var xt = LinearInterpolant.Mix(z, eps, t);
        var target = LinearInterpolant.Velocity(z, eps);
        var prediction = model(xt, t, y);
        if (!prediction.shape.SequenceEqual(xt.shape))
            throw new InvalidOperationException(
                $"the model returned [{string.Join(", ", prediction.shape)}] for inputs [{string.Join(", ", xt.shape)}]");
        // t is the caller's; the terms hold their own handle to it.
        var terms = new FlowMatchingLossTerms(t.alias(), xt, target, prediction, PerSample(prediction, target));
        terms.MoveToOuterDisposeScope();
        return terms;
    }

    /// <summary>prediction, target: (B, ...) -> (B,) mean over every non-batch dimension of the squared error.</summary>
    public static Tensor PerSample(Tensor prediction, Tensor target)
    {
        using var scope = NewDisposeScope();
        var dims = Enumerable.Range(1, (int)prediction.dim() - 1).Select(d => (long)d).ToArray();
        return (prediction - target).pow(2).mean(dims).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// What one loss evaluation produced: Times (B,) shifted, NoisyLatents x_t (B, C, h, w), Target eps - z,
/// Prediction, PerSampleLoss (B,). Mean() is the scalar the optimizer minimizes.
/// </summary>
public sealed record FlowMatchingLossTerms(Tensor Times, Tensor NoisyLatents, Tensor Target, Tensor Prediction, Tensor PerSampleLoss)
    : IDisposable
{
    public Tensor Mean() => PerSampleLoss.mean();

    internal void MoveToOuterDisposeScope()
    {
        Times.MoveToOuterDisposeScope();
        NoisyLatents.MoveToOuterDisposeScope();
        Target.MoveToOuterDisposeScope();
        Prediction.MoveToOuterDisposeScope();
        PerSampleLoss.MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        Times.Dispose();
        NoisyLatents.Dispose();
        Target.Dispose();
        Prediction.Dispose();
        PerSampleLoss.Dispose();
    }
}
