using RaePipeline.Abstractions;
using RaePipeline.FlowMatching;
using static TorchSharp.torch;

namespace RaePipeline.Samplers.FlowMatching;

/// <summary>
/// The official SDE sampler (<c>Sampler.sample_sde</c>): the reverse SDE dx = [v - D(t) score] dt + sqrt(2 D(t)) dW,
/// score from the velocity (score = ((t - 1) v - x) / t), integrated from t = 1 toward data on the shifted grid
/// shift(1 - linspace(t0, t1, N)) with t0 = sample_eps for SBDM (else 0) and t1 = 1 - last_step_size
/// (1 - sample_eps without a last step), then the last step (<see cref="LastStep"/>) maps the state at t_N to data.
/// With h = t_i - t_{i+1} &gt; 0, w ~ N(0, I) from the generator and drift(x, t) = v(x, t) - D(t) score(x, t):
/// <list type="bullet">
/// <item><see cref="SdeMethod.EulerMaruyama"/> (official <c>sampling_method: euler</c>): mean = x - drift(x, t_i) h,
/// x' = mean + sqrt(2 D(t_i)) w sqrt(h). One evaluation per step.</item>
/// <item><see cref="SdeMethod.Heun"/> (official <c>sampling_method: heun</c>, <c>sde.__Heun_step</c>): the noise first,
/// x^ = x + sqrt(2 D(t_i)) w sqrt(h); then Heun's predictor-corrector on the drift, K1 = drift(x^, t_i),
/// K2 = drift(x^ - h K1, t_{i+1}), x' = x^ - (h / 2)(K1 + K2). Two evaluations per step; the last step after the
/// grid is the same single evaluation as for Euler-Maruyama (the official "no Heun step at the last time point").</item>
/// </list>
/// The official code evaluates the model twice per drift (once for v, once inside the score) with identical results;
/// here each drift is one evaluation. onStep sees the state after each step (index N - 1 for the last step); clone
/// it to keep it.
///
/// Deliberate difference from the official code: it evaluates the last step at the unshifted time
/// 1 - t1 = last_step_size with step size last_step_size, although with a time shift s > 1 the state is at
/// shift(last_step_size) (0.22 for s = sqrt(48)), so its output keeps part of the noise. Here the last step is taken
/// at the state's grid time t_N with step size t_N, ending at t = 0. Without a shift (s = 1) both are the same.
/// Heun needs the score at the grid's last time, so without a last step it needs sample_eps &gt; 0 (the official
/// code would divide by t = 0 there).
/// </summary>
public sealed class SdeSampler : ISampler
{
    public SdeSampler(SdeMethod method, TimeGridSettings grid, DiffusionCoefficient diffusion, LastStep lastStep,
        double lastStepSize = 0.04, double sampleEps = 0.0)
    {
        if (lastStep != LastStep.None && !(lastStepSize > 0 && lastStepSize < 1))
            throw new ComponentConfigurationException(
                $"last_step_size must lie in (0, 1) when last_step is {lastStep}, got {lastStepSize}", "last_step_size");
        if (!(sampleEps >= 0 && sampleEps < 1))
            throw new ComponentConfigurationException($"sample_eps must lie in [0, 1), got {sampleEps}", "sample_eps");
        if (diffusion.IsSingularAtNoise && sampleEps == 0)
            throw new ComponentConfigurationException(
                "diffusion_form SBDM has D(t) = t / (1 - t), infinite at t = 1 where sampling starts; set sample_eps > 0 " +
                "(e.g. 0.001) so the grid starts at shift(1 - sample_eps), or use another diffusion_form", "sample_eps");
        if (method == SdeMethod.Heun && lastStep == LastStep.None && sampleEps == 0)
            throw new ComponentConfigurationException(
                "the Heun SDE step evaluates the score ((t - 1) v - x) / t at the grid's last time, which is t = 0 without a " +
                "last step; use a last_step (Mean, Tweedie, Euler) or sample_eps > 0", "last_step");
        Method = method;
        Grid = grid;
        Diffusion = diffusion;
        LastStep = lastStep;
        LastStepSize = lastStep == LastStep.None ? 0.0 : lastStepSize;
        SampleEps = sampleEps;
    }

    public SdeMethod Method { get; }

    public TimeGridSettings Grid { get; }

    public DiffusionCoefficient Diffusion { get; }

    public LastStep LastStep { get; }

    public double LastStepSize { get; }

    public double SampleEps { get; }

    /// <summary>The official check_interval for the SDE: t0 = eps for SBDM, t1 = 1 - last_step_size (1 - eps without one).</summary>
    public Tensor TimeGrid(LatentShape latent)
    {
        var start = Diffusion.IsSingularAtNoise ? SampleEps : 0.0;
        var end = LastStepSize == 0 ? 1.0 - SampleEps : 1.0 - LastStepSize;
        return Grid.Build(latent, start, end);
    }

    public int FunctionEvaluations(int gridPoints) =>
        (Method == SdeMethod.Heun ? 2 : 1) * (gridPoints - 1) + (LastStep == LastStep.None ? 0 : 1);

    public Tensor Sample(VelocityField velocity, Tensor noise, Tensor labels, Tensor grid,
        Generator? generator = null, Action<int, Tensor>? onStep = null)
    {
        SamplerInputs.Check(noise, labels);
        var steps = GridSteps.Of(grid);
        CheckDiffusionOn(steps);
        using var noGrad = no_grad();
        var x = noise;
        for (var i = 0; i < steps.Count; i++)
        {
            Tensor next;
            using (NewDisposeScope())
                next = (Method == SdeMethod.Heun
                    ? HeunStep(velocity, x, labels, steps, i, generator)
                    : EulerMaruyamaStep(velocity, x, labels, steps, i, generator)).MoveToOuterDisposeScope();
            Replace(ref x, next, noise);
            onStep?.Invoke(i, x);
        }
        if (LastStep != LastStep.None)
        {
            Tensor final;
            using (NewDisposeScope())
                final = FinalStep(velocity, x, labels, steps.Points[^1]).MoveToOuterDisposeScope();
            Replace(ref x, final, noise);
            onStep?.Invoke(steps.Count, x);
        }
        return x;
    }

    Tensor EulerMaruyamaStep(VelocityField velocity, Tensor x, Tensor labels, GridSteps steps, int i, Generator? generator)
    {
        // h = t_i - t_{i+1} > 0 as a float32 scalar, and its float32 square root, as the official 0-d tensors.
        var h = -steps.Step[i];
        var w = randn(x.shape, dtype: x.dtype, generator: generator).to(x.device);
        var t = TimeVector(x, steps.Time[i]);
        var d = LinearInterpolant.PerSample(Diffusion.At(t), x);
        var mean = x - Drift(velocity, x, t, labels) * h;
        return mean + (2.0f * d).sqrt() * (w * MathF.Sqrt(h));
    }

    Tensor HeunStep(VelocityField velocity, Tensor x, Tensor labels, GridSteps steps, int i, Generator? generator)
    {
        var h = -steps.Step[i];
        var w = randn(x.shape, dtype: x.dtype, generator: generator).to(x.device);
        var t = TimeVector(x, steps.Time[i]);
        var d = LinearInterpolant.PerSample(Diffusion.At(t), x);
        var noisy = x + (2.0f * d).sqrt() * (w * MathF.Sqrt(h));
        var k1 = Drift(velocity, noisy, t, labels);
        var k2 = Drift(velocity, noisy - h * k1, TimeVector(x, steps.Points[i + 1]), labels);
        return noisy - 0.5f * h * (k1 + k2);
    }

    /// <summary>The reverse-SDE drift v - D(t) score with one velocity evaluation (official <c>sde_drift_fn</c>).</summary>
    Tensor Drift(VelocityField velocity, Tensor x, Tensor t, Tensor labels)
    {
        var v = velocity(x, t, labels);
        var d = LinearInterpolant.PerSample(Diffusion.At(t), x);
        return v - d * LinearInterpolant.ScoreFromVelocity(v, x, t);
    }

    static Tensor TimeVector(Tensor x, float t) => full([x.shape[0]], t, dtype: ScalarType.Float32, device: x.device);

    Tensor FinalStep(VelocityField velocity, Tensor x, Tensor labels, float tEnd)
    {
        var t = TimeVector(x, tEnd);
        switch (LastStep)
        {
            case LastStep.Mean:
                return x - Drift(velocity, x, t, labels) * tEnd;
            case LastStep.Tweedie:
            {
                var alpha = 1.0f - tEnd;
                return x / alpha + tEnd * tEnd / alpha * LinearInterpolant.ScoreFromVelocity(velocity(x, t, labels), x, t);
            }
            case LastStep.Euler:
                return x - velocity(x, t, labels) * tEnd;
            default:
                throw new InvalidOperationException($"no final step for last_step {LastStep}");
        }
    }

    // D must be finite and non-negative wherever the sampler evaluates it (sqrt(2 D) would be NaN otherwise).
    void CheckDiffusionOn(GridSteps steps)
    {
        using var scope = NewDisposeScope();
        var times = LastStep == LastStep.Mean || Method == SdeMethod.Heun ? steps.Points : steps.Time;
        var d = Diffusion.At(tensor(times)).data<float>().ToArray();
        for (var i = 0; i < d.Length; i++)
            if (!float.IsFinite(d[i]) || d[i] < 0)
                throw new ArgumentException(
                    $"diffusion {Diffusion} is {d[i]} at grid time t = {times[i]}; it must be finite and ≥ 0 there");
    }

    static void Replace(ref Tensor x, Tensor next, Tensor noise)
    {
        if (!ReferenceEquals(x, noise)) x.Dispose();
        x = next;
    }
}

/// <summary>The step of <see cref="SdeSampler"/> (official <c>sampling_method</c>).</summary>
public enum SdeMethod
{
    EulerMaruyama,
    Heun,
}
