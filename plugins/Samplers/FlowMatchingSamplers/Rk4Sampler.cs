using RaePipeline.Abstractions;
using static TorchSharp.torch;

namespace RaePipeline.Samplers.FlowMatching;

/// <summary>
/// torchdiffeq's fixed-grid <c>rk4</c>, which is its <c>rk4_alt_step_func</c> (Kutta's 3/8 rule), not the classic
/// 1/6 rule: k1 = v(x, t_i), k2 = v(x + (dt k1) / 3, t_i + dt/3), k3 = v(x + dt (k2 - k1 / 3), t_i + 2dt/3),
/// k4 = v(x + dt (k1 - k2 + k3), t_{i+1}), x_{i+1} = x + (k1 + 3 (k2 + k3) + k4) dt / 8, the stage times in float32
/// as torchdiffeq forms them in negated time (<see cref="GridSteps"/>). Fourth order, four evaluations per step.
/// </summary>
public sealed class Rk4Sampler(TimeGridSettings grid) : FixedGridOdeSampler(grid)
{
    protected override int EvaluationsPerStep => 4;

    protected override Tensor Step(VelocityField velocity, Tensor x, Tensor labels, GridSteps steps, int i, StepHistory history)
    {
        var dt = steps.Step[i];
        var k1 = velocity(x, TimeVector(x, steps.Time[i]), labels);
        var k2 = velocity(x + dt * k1 * GridSteps.OneThird, TimeVector(x, steps.Third[i]), labels);
        var k3 = velocity(x + dt * (k2 - k1 * GridSteps.OneThird), TimeVector(x, steps.TwoThirds[i]), labels);
        var k4 = velocity(x + dt * (k1 - k2 + k3), TimeVector(x, steps.Points[i + 1]), labels);
        return x + (k1 + 3 * (k2 + k3) + k4) * dt * 0.125f;
    }
}
