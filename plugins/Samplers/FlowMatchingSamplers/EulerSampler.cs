using RaePipeline.Abstractions;
using static TorchSharp.torch;

namespace RaePipeline.Samplers.FlowMatching;

/// <summary>Euler (the official default): x_{i+1} = x_i + dt v(x_i, t_i). One evaluation per step.</summary>
public sealed class EulerSampler(TimeGridSettings grid) : FixedGridOdeSampler(grid)
{
    protected override int EvaluationsPerStep => 1;

    protected override Tensor Step(VelocityField velocity, Tensor x, Tensor labels, GridSteps steps, int i, StepHistory history)
    {
        var v = velocity(x, TimeVector(x, steps.Time[i]), labels);
        return x + steps.Step[i] * v;
    }
}
