using RaePipeline.Abstractions;
using static TorchSharp.torch;

namespace RaePipeline.Samplers.FlowMatching;

/// <summary>
/// torchdiffeq's fixed-grid <c>heun2</c> (explicit trapezoid): k1 = v(x_i, t_i), k2 = v(x_i + dt k1, t'),
/// x_{i+1} = x_i + dt (0.5 k1 + 0.5 k2), with t' = t_i + dt in float32 (torchdiffeq's -((-t_i) + (t_i - t_{i+1})),
/// one ulp off t_{i+1} at times). Two evaluations per step.
/// </summary>
public sealed class HeunSampler(TimeGridSettings grid) : FixedGridOdeSampler(grid)
{
    protected override int EvaluationsPerStep => 2;

    protected override Tensor Step(VelocityField velocity, Tensor x, Tensor labels, GridSteps steps, int i, StepHistory history)
    {
        var dt = steps.Step[i];
        var k1 = velocity(x, TimeVector(x, steps.Time[i]), labels);
        var k2 = velocity(x + dt * k1, TimeVector(x, steps.End[i]), labels);
        return x + dt * (k1 * 0.5f + k2 * 0.5f);
    }
}
