using RaePipeline.Abstractions;
using static TorchSharp.torch;

namespace RaePipeline.Samplers.FlowMatching;

/// <summary>
/// The linear multistep (Adams-Bashforth) method with variable steps on the velocity, on the shifted grid: one
/// evaluation per step. Step i evaluates v_i = v(x_i, t_i) and moves
/// x_{i+1} = x_i + sum_{j &lt; k} c_j v_{i-j}, k = min(max_order, i + 1),
/// where c_j integrates the polynomial through (t_{i-j}, v_{i-j}) over [t_i, t_{i+1}]
/// (<see cref="AdamsBashforthCoefficients"/>). The first step is Euler's and each later one raises the order by one
/// until max_order (the lower-order start of iPNDM, Zhang and Chen, "Fast Sampling of Diffusion Models with
/// Exponential Integrator", ICLR 2023, appendix; and of k-diffusion's <c>sample_lms</c>).
/// <para>
/// This is what k-diffusion's <c>sample_lms</c> and ComfyUI's <c>deis</c> (mode <c>rhoab</c>: the same weights in
/// closed form) compute on a flow-matching model: there sigma = t and the Karras derivative (x - denoised) / sigma is
/// the velocity (denoised = x - t v). Extrapolating the velocity in t suits the linear path: on Gaussian data the
/// velocity is smooth in t down to t = 0, whereas the data prediction x0 = x - t v, which DPM-Solver++ and UniPC
/// extrapolate in lambda = log((1 - t) / t), still changes inside the shifted grid's final step (lambda 1.5 to 6.2 at
/// 10 steps), which those methods take at first order (extrapolated over it, x0 overshoots). On the analytic Gaussian test (10/20/40 evaluations,
/// max abs error against the exact flow) this sampler is 13.5x/34x/81x better than Euler at max_order 3 (2:
/// 6.2x/12x/26x; 4: 12.6x/39x/94x), DPM-Solver++(2M) 3.3x/6.4x/12.8x.
/// </para>
/// <para>
/// Order: each step of order k has a local error O(h^{k+1}), but the Euler start's O(h^2) stays in the result, so the
/// sampler converges at order 2 for every max_order ≥ 2 (1 for max_order 1, which is Euler); a higher max_order buys a
/// smaller error at a given budget, not a steeper slope. That is the price of one evaluation per step from pure noise.
/// Weights are computed in float64 from the float32 grid; the model sees the float32 grid times.
/// </para>
/// </summary>
public sealed class AdamsBashforthSampler : FixedGridOdeSampler
{
    public const int HighestOrder = 4;

    public AdamsBashforthSampler(TimeGridSettings grid, int maxOrder = 3) : base(grid)
    {
        if (maxOrder is < 1 or > HighestOrder)
            throw new ComponentConfigurationException($"max_order must be 1 to {HighestOrder}, got {maxOrder}", "max_order");
        MaxOrder = maxOrder;
    }

    /// <summary>The highest order k: how many velocities (the newest and k - 1 earlier ones) a step combines.</summary>
    public int MaxOrder { get; }

    protected override int EvaluationsPerStep => 1;

    protected override Tensor Step(VelocityField velocity, Tensor x, Tensor labels, GridSteps steps, int i, StepHistory history)
    {
        var v = velocity(x, TimeVector(x, steps.Time[i]), labels);              // (B, C, h, w)
        var weights = AdamsBashforthCoefficients.Of(steps.Points, i, Math.Min(MaxOrder, history.Count + 1));
        var result = x + v * weights[0];
        for (var j = 1; j < weights.Length; j++)
            result = result + history[j - 1] * weights[j];
        // An alias, so the kept velocity is ours to dispose even if the field handed back a tensor it owns.
        if (MaxOrder > 1) history.Push(v.alias(), keep: MaxOrder - 1);
        return result;
    }
}
