using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using RaePipeline.Abstractions;
using static TorchSharp.torch;

namespace RaePipeline.Samplers.FlowMatching;

/// <summary>
/// The adaptive Dormand-Prince 5(4) solver as the official sampler runs it through torchdiffeq 0.2.5's
/// <c>odeint(method="dopri5", atol=[atol], rtol=[rtol])</c> on the shifted grid, with the same semantics:
/// <list type="bullet">
/// <item>torchdiffeq integrates a decreasing grid in negated time s = -t (the field becomes -v(x, -s)); the grid points
/// are only output times: steps are chosen by the controller, the state at each grid point is the quartic dense-output
/// interpolant of the step that covers it, and the last step may end beyond the last grid point (the field is then
/// evaluated there, as the official sampler does). The sample is the state at the last grid point.</item>
/// <item>Initial step: Hairer, Norsett and Wanner's <c>_select_initial_step</c> with order 4 (one extra evaluation):
/// scale = atol + |y0| rtol, d0 = rms(y0 / scale), d1 = rms(f0 / scale), h0 = 0.01 d0 / d1 (1e-6 when d0 or d1 &lt; 1e-5),
/// d2 = rms((f(s0 + h0, y0 + h0 f0) - f0) / scale) / h0, h1 = (0.01 / max(d1, d2))^(1/5) (max(1e-6, 1e-3 h0) when
/// both ≤ 1e-15), first step min(100 h0, h1).</item>
/// <item>Error: the RMS over the whole batch (torchdiffeq's default norm; the batch is one state) of
/// err / (atol + rtol max(|y0|, |y1|)), in float64 (the official tolerances are one-element float64 tensors).
/// A step is accepted when that ratio is ≤ 1.</item>
/// <item>Step size: torchdiffeq's <c>_optimal_step_size</c>, a plain (not PI) controller with safety 0.9, growth at most
/// 10x and shrink at most 0.2x (no shrink limit below 1 after an accepted step): dt' = dt min(10, max(0.9 / ratio^(1/5),
/// ratio &lt; 1 ? 1 : 0.2)), dt' = 10 dt when the ratio is 0.</item>
/// <item>Stage times are formed in the state's precision (float32 for float32 latents) and the stages at the step's
/// end (alpha = 1) are taken one ulp before it (torchdiffeq's <c>Perturb.PREV</c>); the model sees float32 times.</item>
/// </list>
/// Cost: one evaluation at the start, one for the initial step, six per attempted step (first same as last). The run
/// stops with an error naming <c>max_evaluations</c> when the next step would exceed it. onStep sees the state at each
/// grid point after the first (index i - 1 for grid point i); the sampler logs the evaluations of each run (debug).
/// </summary>
public sealed class Dopri5Sampler : ISampler
{
    public const double Safety = 0.9, IncreaseFactor = 10.0, DecreaseFactor = 0.2;

    /// <summary>Evaluations of one attempted step (stages 2..7; the first stage is the previous step's last).</summary>
    public const int EvaluationsPerStep = 6;

    readonly ILogger logger;

    public Dopri5Sampler(TimeGridSettings grid, double atol, double rtol, int maxEvaluations, ILogger? logger = null)
    {
        if (!double.IsFinite(atol) || atol < 0)
            throw new ComponentConfigurationException($"atol must be a finite number ≥ 0, got {atol}", "atol");
        if (!double.IsFinite(rtol) || rtol < 0)
            throw new ComponentConfigurationException($"rtol must be a finite number ≥ 0, got {rtol}", "rtol");
        if (atol == 0 && rtol == 0)
            throw new ComponentConfigurationException("atol and rtol are both 0: the error tolerance atol + rtol |x| would be 0", "atol");
        if (maxEvaluations < 2 + EvaluationsPerStep)
            throw new ComponentConfigurationException(
                $"max_evaluations must allow at least one step ({2 + EvaluationsPerStep} evaluations), got {maxEvaluations}", "max_evaluations");
        Grid = grid;
        Atol = atol;
        Rtol = rtol;
        MaxEvaluations = maxEvaluations;
        this.logger = logger ?? NullLogger.Instance;
    }

    /// <summary>The output grid (the official <c>num_steps</c> points); it sets where the state is read, not the steps.</summary>
    public TimeGridSettings Grid { get; }

    public double Atol { get; }

    public double Rtol { get; }

    public int MaxEvaluations { get; }

    public Tensor TimeGrid(LatentShape latent) => Grid.Build(latent);

    /// <summary>Adaptive: the number is not known in advance, so this is the cap, <see cref="MaxEvaluations"/>.</summary>
    public int FunctionEvaluations(int gridPoints) => MaxEvaluations;

    public Tensor Sample(VelocityField velocity, Tensor noise, Tensor labels, Tensor grid,
        Generator? generator = null, Action<int, Tensor>? onStep = null)
    {
        SamplerInputs.Check(noise, labels);
        var steps = GridSteps.Of(grid);
        using var noGrad = no_grad();
        using var run = new Dopri5Integration(this, velocity, noise, labels, steps.Points[0]);
        Tensor? state = null;
        for (var i = 1; i < steps.Points.Length; i++)
        {
            var next = run.StateAt(steps.Points[i]);
            state?.Dispose();
            state = next;
            onStep?.Invoke(i - 1, state);
        }
        logger.LogDebug("dopri5: {Evaluations} velocity evaluations ({Accepted} accepted, {Rejected} rejected steps) from t = {Start} to {End}",
            run.Evaluations, run.AcceptedSteps, run.RejectedSteps, steps.Points[0], steps.Points[^1]);
        return state!;
    }
}
