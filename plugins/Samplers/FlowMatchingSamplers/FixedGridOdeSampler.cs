using RaePipeline.Abstractions;
using static TorchSharp.torch;

namespace RaePipeline.Samplers.FlowMatching;

/// <summary>
/// A fixed-grid solver of the probability-flow ODE dx/dt = v(x, t, y) from t = grid[0] (noise) down to grid[^1],
/// as the official <c>Sampler.sample_ode</c> runs torchdiffeq's fixed-grid methods on the shifted grid
/// (no final jump to t = 0). Each step runs in its own dispose scope under no_grad; the model time is a (B,)
/// float32 vector and every step size a float32 scalar. The state handed to onStep is disposed once the next step
/// has replaced it: clone it to keep it. The result belongs to the caller (and to the caller's dispose scope).
/// Guided sampling as the official scripts do it integrates the doubled batch of
/// <see cref="RaePipeline.FlowMatching.GuidanceBatch"/>; the samplers themselves know nothing of guidance.
/// </summary>
public abstract class FixedGridOdeSampler(TimeGridSettings grid) : ISampler
{
    public TimeGridSettings Grid { get; } = grid;

    /// <summary>Velocity evaluations per step.</summary>
    protected abstract int EvaluationsPerStep { get; }

    public Tensor TimeGrid(LatentShape latent) => Grid.Build(latent);

    public int FunctionEvaluations(int gridPoints) => EvaluationsPerStep * (gridPoints - 1);

    public Tensor Sample(VelocityField velocity, Tensor noise, Tensor labels, Tensor grid,
        Generator? generator = null, Action<int, Tensor>? onStep = null)
    {
        SamplerInputs.Check(noise, labels);
        var steps = GridSteps.Of(grid);
        using var noGrad = no_grad();
        using var history = new StepHistory();
        var x = noise;
        for (var i = 0; i < steps.Count; i++)
        {
            Tensor next;
            using (NewDisposeScope())
                next = Step(velocity, x, labels, steps, i, history).MoveToOuterDisposeScope();
            if (!ReferenceEquals(x, noise)) x.Dispose();
            x = next;
            onStep?.Invoke(i, x);
        }
        return x;
    }

    /// <summary>
    /// One step from grid[i] to grid[i + 1]: x (B, C, h, w) -> x' (B, C, h, w). <paramref name="history"/> carries
    /// what a multistep method keeps from earlier steps of this run (single-step methods ignore it).
    /// </summary>
    protected abstract Tensor Step(VelocityField velocity, Tensor x, Tensor labels, GridSteps steps, int i, StepHistory history);

    /// <summary>The (B,) float32 model-time vector filled with <paramref name="t"/>, on x's device.</summary>
    protected static Tensor TimeVector(Tensor x, float t) => full([x.shape[0]], t, dtype: ScalarType.Float32, device: x.device);
}
