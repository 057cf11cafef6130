using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Abstractions;

/// <summary>Integrates a velocity field from noise (t = 1) to data along a decreasing time grid.</summary>
public interface ISampler
{
    /// <summary>The grid this sampler uses for latents of the given shape: (N,) float32, from 1 down to the end time.</summary>
    Tensor TimeGrid(LatentShape latent);

    /// <summary>Velocity evaluations one sample costs on a grid of <paramref name="gridPoints"/> points.</summary>
    int FunctionEvaluations(int gridPoints);

    /// <summary>
    /// noise: (B, C, h, w) at t = grid[0]; labels: (B,) int64; grid: (N,) decreasing. Returns the state at the last
    /// grid time, (B, C, h, w). <paramref name="generator"/> drives stochastic samplers. <paramref name="onStep"/>
    /// is called after each step with the step index and the current state (for progress or trajectories).
    /// </summary>
    Tensor Sample(VelocityField velocity, Tensor noise, Tensor labels, Tensor grid,
        Generator? generator = null, Action<int, Tensor>? onStep = null);
}
