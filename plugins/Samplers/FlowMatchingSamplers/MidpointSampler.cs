using RaePipeline.Abstractions;
using static TorchSharp.torch;

namespace RaePipeline.Samplers.FlowMatching;

/// <summary>
/// torchdiffeq's fixed-grid <c>midpoint</c>: k1 = v(x_i, t_i), x_{i+1} = x_i + dt v(x_i + k1 (dt/2), t_i + dt/2),
/// the half-step time in float32. Two evaluations per step.
/// </summary>
public sealed class MidpointSampler(TimeGridSettings grid) : FixedGridOdeSampler(grid)
{
    protected override int EvaluationsPerStep => 2;

    protected override Tensor Step(VelocityField velocity, Tensor x, Tensor labels, GridSteps steps, int i, StepHistory history)
    {
        var k1 = velocity(x, TimeVector(x, steps.Time[i]), labels);
        var middle = velocity(x + k1 * steps.Half[i], TimeVector(x, steps.Middle[i]), labels);
        return x + steps.Step[i] * middle;
    }
}
