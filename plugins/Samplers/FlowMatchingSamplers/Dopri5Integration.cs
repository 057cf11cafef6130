using RaePipeline.Abstractions;
using static TorchSharp.torch;
using Tableau = RaePipeline.Samplers.FlowMatching.DormandPrinceTableau;

namespace RaePipeline.Samplers.FlowMatching;

/// <summary>
/// One dopri5 run of <see cref="Dopri5Sampler"/> (torchdiffeq's <c>RKAdaptiveStepsizeODESolver</c> state), in negated
/// time s = -t so that it increases: the state y (B, C, h, w) at the end s1 of the last accepted step, its derivative
/// f = -v there, the next step size, and the interpolant of the last accepted step [s0, s1]. Time-like scalars are
/// float64; stage times and coefficients are rounded to the state's precision as torchdiffeq casts them.
/// Owns its tensors (outside any dispose scope) until disposed.
/// </summary>
sealed class Dopri5Integration : IDisposable
{
    /// <summary>The order torchdiffeq hands <c>_select_initial_step</c>: the solver's order minus one.</summary>
    const int InitialStepOrder = Tableau.Order - 1;

    readonly Dopri5Sampler solver;
    readonly VelocityField velocity;
    readonly Tensor labels;
    readonly bool single;
    Tensor y, f;
    Tensor[]? interpolant;            // [e, d, c, b, a] of e + d x + c x^2 + b x^3 + a x^4, x in [0, 1] over [s0, s1]
    double s0, s1, dt;

    public Dopri5Integration(Dopri5Sampler solver, VelocityField velocity, Tensor noise, Tensor labels, float start)
    {
        this.solver = solver;
        this.velocity = velocity;
        this.labels = labels;
        single = noise.dtype != ScalarType.Float64;
        y = noise.alias().DetachFromDisposeScope();
        s0 = s1 = -(double)start;
        using var scope = NewDisposeScope();
        f = Derivative(y, s0, perturbBefore: false).DetachFromDisposeScope();
        dt = InitialStep();
    }

    public int Evaluations { get; private set; }
    public int AcceptedSteps { get; private set; }
    public int RejectedSteps { get; private set; }

    /// <summary>The state at grid time <paramref name="t"/> (≤ every earlier one): steps until past it, then interpolates.</summary>
    public Tensor StateAt(float t)
    {
        var target = -(double)t;
        while (target > s1) Step();
        if (interpolant is null)
            throw new InvalidOperationException("dopri5 has no accepted step to interpolate from");
        using var scope = NewDisposeScope();
        var x = Round((target - s0) / (s1 - s0));
        var total = interpolant[0] + interpolant[1] * x;
        var power = x;
        foreach (var coefficient in interpolant[2..])
        {
            power = Round(power * x);
            total = total + coefficient * power;
        }
        return total.MoveToOuterDisposeScope();
    }

    /// <summary>f(s, y) = -v(y, -s) with s rounded to the state's precision (one ulp lower when perturbBefore), model time float32.</summary>
    Tensor Derivative(Tensor state, double s, bool perturbBefore)
    {
        var rounded = Round(s);
        if (perturbBefore) rounded = single ? MathF.BitDecrement((float)rounded) : Math.BitDecrement(rounded);
        Evaluations++;
        var t = full([state.shape[0]], (float)-rounded, dtype: ScalarType.Float32, device: state.device);
        return -velocity(state, t, labels);
    }

    /// <summary>torchdiffeq's <c>_select_initial_step</c> with order 4 (the solver's order minus one).</summary>
    double InitialStep()
    {
        using var scope = NewDisposeScope();
        var scale = solver.Atol + y.abs().to(ScalarType.Float64) * solver.Rtol;
        double d0 = Rms(y / scale), d1 = Rms(f / scale);
        double h0 = d0 < 1e-5 || d1 < 1e-5 ? Round(1e-6) : 0.01 * d0 / d1;
        var f1 = Derivative(y + f * Round(h0), s0 + h0, perturbBefore: false);
        double d2 = Math.Abs(Rms((f1 - f) / scale) / h0);
        double h1 = d1 <= 1e-15 && d2 <= 1e-15
            ? Math.Max(Round(1e-6), h0 * 1e-3)
            : Math.Pow(0.01 / Math.Max(d1, d2), 1.0 / (InitialStepOrder + 1));
        return Math.Min(100 * h0, h1);
    }

    /// <summary>One attempted step from s1 (torchdiffeq's <c>_adaptive_step</c> without step_t/jump_t).</summary>
    void Step()
    {
        if (Evaluations + Dopri5Sampler.EvaluationsPerStep > solver.MaxEvaluations)
            throw new InvalidOperationException(
                $"dopri5 stopped at t = {-s1:G6} after {Evaluations} velocity evaluations: the next step would exceed " +
                $"max_evaluations ({solver.MaxEvaluations}) at atol {solver.Atol}, rtol {solver.Rtol}; raise max_evaluations or loosen atol/rtol");
        if (!double.IsFinite(dt)) dt = 0;
        double start = s1, end = start + dt;
        if (!(end > start))
            throw new InvalidOperationException($"dopri5: step size underflow ({dt:G3}) at t = {-start:G9}");
        using var scope = NewDisposeScope();
        if (!y.isfinite().all().item<bool>())
            throw new InvalidOperationException($"dopri5: the state has non-finite values at t = {-start:G9}");

        // _runge_kutta_step: stage times and step in the state's precision.
        double t0 = Round(start), h = Round(dt), t1 = Round(end);
        var k = new Tensor[Tableau.Alpha.Length + 1];
        k[0] = f;
        Tensor stageState = y;
        for (var i = 0; i < Tableau.Alpha.Length; i++)
        {
            var alpha = Tableau.Alpha[i];
            var time = alpha == 1.0 ? t1 : Round(t0 + Round(Round(alpha) * h));
            stageState = y + Combination(k, Tableau.Beta[i], h);
            k[i + 1] = Derivative(stageState, time, perturbBefore: alpha == 1.0);
        }
        var next = stageState;                                    // first same as last: the solution is the last stage's input
        var error = Combination(k, Tableau.Error, h);
        var tolerance = solver.Atol + maximum(y.abs(), next.abs()).to(ScalarType.Float64) * solver.Rtol;
        var ratio = Rms(error.to(ScalarType.Float64) / tolerance);

        if (ratio <= 1)
        {
            var fitted = Interpolant(next, k, h);
            Replace(ref y, next);
            Replace(ref f, k[^1]);
            if (interpolant != null) foreach (var c in interpolant) c.Dispose();
            interpolant = fitted.Select(c => c.DetachFromDisposeScope()).ToArray();
            s0 = start;
            s1 = end;
            AcceptedSteps++;
        }
        else
        {
            s0 = start;
            RejectedSteps++;
        }
        dt = OptimalStep(dt, ratio);
    }

    /// <summary>torchdiffeq's <c>_optimal_step_size</c> with safety 0.9, ifactor 10, dfactor 0.2 and order 5.</summary>
    static double OptimalStep(double last, double ratio)
    {
        if (ratio == 0) return last * Dopri5Sampler.IncreaseFactor;
        var decrease = ratio < 1 ? 1.0 : Dopri5Sampler.DecreaseFactor;
        var factor = Math.Min(Dopri5Sampler.IncreaseFactor,
            Math.Max(Dopri5Sampler.Safety / Math.Pow(ratio, 1.0 / Tableau.Order), decrease));
        return last * factor;
    }

    /// <summary>
    /// torchdiffeq's <c>_interp_fit</c> from y0, y1, the midpoint y0 + h sum(mid_j k_j) and the end derivatives:
    /// coefficients [e, d, c, b, a] in the state's dtype.
    /// </summary>
    Tensor[] Interpolant(Tensor next, Tensor[] k, double h)
    {
        var middle = y + Combination(k, Tableau.Middle, h);
        Tensor f0 = k[0], f1 = k[^1];
        var a = 2 * h * (f1 - f0) - 8 * (next + y) + 16 * middle;
        var b = h * (5 * f0 - 3 * f1) + 18 * y + 14 * next - 32 * middle;
        var c = h * (f1 - 4 * f0) - 11 * y - 5 * next + 16 * middle;
        var d = h * f0;
        return [y.clone(), d, c, b, a];
    }

    /// <summary>sum_j k_j (w_j h), the weights rounded as torchdiffeq's (w h) in the state's dtype.</summary>
    Tensor Combination(Tensor[] k, double[] weights, double h)
    {
        Tensor? sum = null;
        for (var j = 0; j < weights.Length; j++)
        {
            if (weights[j] == 0) continue;
            var term = k[j] * Round(Round(weights[j]) * h);
            sum = sum is null ? term : sum + term;
        }
        return sum ?? zeros_like(k[0]);
    }

    /// <summary>torchdiffeq's default norm: the root mean square over every element (the whole batch is one state).</summary>
    static double Rms(Tensor x) => x.square().mean().sqrt().item<double>();

    double Round(double value) => single ? (float)value : value;

    static void Replace(ref Tensor field, Tensor value)
    {
        field.Dispose();
        field = value.DetachFromDisposeScope();
    }

    public void Dispose()
    {
        y.Dispose();
        f.Dispose();
        if (interpolant != null) foreach (var c in interpolant) c.Dispose();
    }
}
