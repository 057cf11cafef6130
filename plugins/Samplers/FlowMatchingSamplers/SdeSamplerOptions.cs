namespace RaePipeline.Samplers.FlowMatching;

/// <summary>Options of the SDE samplers <c>euler-maruyama</c> and <c>sde-heun</c> (YAML keys in snake_case).</summary>
public sealed class SdeSamplerOptions
{
    /// <summary>Grid points N (the official SDE default 250): N - 1 SDE steps, then the last step.</summary>
    public int NumSteps { get; set; } = 250;

    /// <summary>Time shift s; null computes s = sqrt(C h w / shift_base) from the latent.</summary>
    public double? Shift { get; set; }

    public double ShiftBase { get; set; } = 4096;

    /// <summary>
    /// D(t): constant, SBDM, sigma, linear, decreasing or increasing-decreasing. The official default SBDM is
    /// infinite at t = 1 where the official grid starts (its Linear/velocity transport forces sample_eps = 0), so
    /// this default is <c>sigma</c> (D = t); SBDM works with sample_eps > 0.
    /// </summary>
    public string DiffusionForm { get; set; } = "sigma";

    /// <summary>Scale n of D(t).</summary>
    public double DiffusionNorm { get; set; } = 1.0;

    /// <summary>Mean (official default), Tweedie, Euler or none.</summary>
    public string? LastStep { get; set; } = "Mean";

    /// <summary>Where the grid stops before the last step: t1 = 1 - last_step_size before the shift.</summary>
    public double LastStepSize { get; set; } = 0.04;

    /// <summary>Start offset t0 of the grid for SBDM (grid starts at shift(1 - sample_eps)); unused by other forms.</summary>
    public double SampleEps { get; set; }

    public SdeSampler Create(SdeMethod method) => new(
        method,
        new TimeGridSettings(NumSteps, Shift, ShiftBase),
        DiffusionCoefficient.Parse(DiffusionForm, DiffusionNorm),
        LastStepNames.Parse(LastStep),
        LastStepSize,
        SampleEps);
}
