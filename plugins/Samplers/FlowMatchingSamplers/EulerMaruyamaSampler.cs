using RaePipeline.Abstractions;
using RaePipeline.FlowMatching;
using static TorchSharp.torch;

namespace RaePipeline.Samplers.FlowMatching;

/// <summary>
/// The official SDE sampler (<c>Sampler.sample_sde</c>, Euler-Maruyama): the reverse SDE
/// dx = [v - D(t) score] dt + sqrt(2 D(t)) dW, score from the velocity (score = ((t - 1) v - x) / t), integrated
/// from t = 1 toward data on the shifted grid shift(1 - linspace(t0, t1, N)) with t0 = sample_eps for SBDM (else 0)
/// and t1 = 1 - last_step_size (1 - sample_eps without a last step). Per step, with h = t_i - t_{i+1} &gt; 0:
/// mean = x - (v - D score) h, x' = mean + sqrt(2 D) w sqrt(h), w ~ N(0, I) from the generator. Then the last step
/// (<see cref="LastStep"/>) maps the state at t_N to data. One velocity evaluation per step (the official code
/// evaluates the model twice per step, for the drift and the score, with identical results). onStep sees the state
/// after each step (index N - 1 for the last step); clone it to keep it.
///
/// Deliberate difference from the official code: it evaluates the last step at the unshifted time
/// 1 - t1 = last_step_size with step size last_step_size, although with a time shift s > 1 the state is at
/// shift(last_step_size) (0.22 for s = sqrt(48)), so its output keeps part of the noise. Here the last step is taken
/// at the state's grid time t_N with step size t_N, ending at t = 0. Without a shift (s = 1) both are the same.
/// </summary>
public sealed class EulerMaruyamaSampler : ISampler
{
    public EulerMaruyamaSampler(TimeGridSettings grid, DiffusionCoefficient diffusion, LastStep lastStep,
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
        Grid = grid;
        Diffusion = diffusion;
        LastStep = lastStep;
        LastStepSize = lastStep == LastStep.None ? 0.0 : lastStepSize;
        SampleEps = sampleEps;
    }

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

    public int FunctionEvaluations(int gridPoints) => gridPoints - 1 + (LastStep == LastStep.None ? 0 : 1);

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
                next = EulerMaruyamaStep(velocity, x, labels, steps, i, generator).MoveToOuterDisposeScope();
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
        var sqrtH = MathF.Sqrt(h);
        var w = randn(x.shape, dtype: x.dtype, generator: generator).to(x.device);
        var t = full([x.shape[0]], steps.Time[i], dtype: ScalarType.Float32, device: x.device);
        var v = velocity(x, t, labels);
        var d = LinearInterpolant.PerSample(Diffusion.At(t), x);
        var drift = v - d * LinearInterpolant.ScoreFromVelocity(v, x, t);
        var mean = x - drift * h;
        return mean + (2.0f * d).sqrt() * (w * sqrtH);
    }

    Tensor FinalStep(VelocityField velocity, Tensor x, Tensor labels, float tEnd)
    {
        var t = full([x.shape[0]], tEnd, dtype: ScalarType.Float32, device: x.device);
        var v = velocity(x, t, labels);
        switch (LastStep)
        {
            case LastStep.Mean:
            {
                var d = LinearInterpolant.PerSample(Diffusion.At(t), x);
                return x - (v - d * LinearInterpolant.ScoreFromVelocity(v, x, t)) * tEnd;
            }
            case LastStep.Tweedie:
            {
                var alpha = 1.0f - tEnd;
                return x / alpha + tEnd * tEnd / alpha * LinearInterpolant.ScoreFromVelocity(v, x, t);
            }
            case LastStep.Euler:
                return x - v * tEnd;
            default:
                throw new InvalidOperationException($"no final step for last_step {LastStep}");
        }
    }

    // D must be finite and non-negative wherever the sampler evaluates it (sqrt(2 D) would be NaN otherwise).
    void CheckDiffusionOn(GridSteps steps)
    {
        using var scope = NewDisposeScope();
        var times = LastStep == LastStep.Mean ? steps.Time.Append(steps.Points[^1]).ToArray() : steps.Time;
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
