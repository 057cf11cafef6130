using RaePipeline.Abstractions;
using static TorchSharp.torch;

namespace RaePipeline.Samplers.FlowMatching;

/// <summary>
/// The diffusion coefficient D(t) of the reverse SDE dx = [v - D(t) score] dt + sqrt(2 D(t)) dW (official
/// <c>ICPlan.compute_diffusion</c> with RAE's orientation, t = 1 noise, t = 0 data; n = diffusion_norm):
/// <c>constant</c> n; <c>SBDM</c> n t / (1 - t); <c>sigma</c> n sigma_t = n t; <c>linear</c> n t;
/// <c>decreasing</c> 0.25 (n cos(pi (1 - t)) + 1)^2; <c>increasing-decreasing</c> n sin(pi (1 - t))^2.
/// SBDM is the diffusion of the forward SDE whose marginals are x_t = (1 - t) z + t eps (g^2 / 2 = t / (1 - t)).
/// The official code evaluates it as <c>compute_drift(x, t)[1]</c>, which with RAE's flipped alpha/sigma comes out
/// as -t / (1 - t) (negative: sqrt(2 D) is NaN); this uses the positive value. SBDM is infinite at t = 1, so it
/// needs sample_eps > 0 (the grid then starts at shift(1 - sample_eps)).
/// </summary>
public sealed class DiffusionCoefficient
{
    static readonly string[] Forms = ["constant", "SBDM", "sigma", "linear", "decreasing", "increasing-decreasing"];

    DiffusionCoefficient(string form, double norm)
    {
        Form = form;
        Norm = norm;
    }

    public string Form { get; }

    public double Norm { get; }

    /// <summary>
    /// A form by name (case-insensitive; the official misspelling <c>inccreasing-decreasing</c> is accepted too).
    /// </summary>
    public static DiffusionCoefficient Parse(string form, double norm)
    {
        var name = form.Trim();
        if (name.Equals("inccreasing-decreasing", StringComparison.OrdinalIgnoreCase)) name = "increasing-decreasing";
        var known = Forms.FirstOrDefault(f => f.Equals(name, StringComparison.OrdinalIgnoreCase))
            ?? throw new ComponentConfigurationException(
                $"unknown diffusion_form '{form}': expected one of {string.Join(", ", Forms)}", "diffusion_form");
        if (!double.IsFinite(norm) || norm < 0)
            throw new ComponentConfigurationException($"diffusion_norm must be a finite number ≥ 0, got {norm}", "diffusion_norm");
        return new DiffusionCoefficient(known, norm);
    }

    public bool IsSingularAtNoise => Form == "SBDM";

    /// <summary>t: (B,) float32 -> D(t): (B,) float32.</summary>
    public Tensor At(Tensor t)
    {
        using var scope = NewDisposeScope();
        var n = (float)Norm;
        var d = Form switch
        {
            "constant" => full_like(t, n),
            "SBDM" => n * t / (1.0f - t),
            "sigma" or "linear" => n * t,
            "decreasing" => (n * cos(Math.PI * (1.0f - t)) + 1.0f).square() * 0.25f,
            "increasing-decreasing" => n * sin(Math.PI * (1.0f - t)).square(),
            _ => throw new InvalidOperationException($"diffusion form {Form} has no formula"),
        };
        return d.MoveToOuterDisposeScope();
    }

    public override string ToString() => $"{Form} (norm {Norm})";
}
