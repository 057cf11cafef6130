using Microsoft.Extensions.Logging;

namespace RaePipeline.Samplers.FlowMatching;

/// <summary>Options of <c>dopri5</c> (YAML keys in snake_case); the defaults are the official <c>sample_ode</c>'s.</summary>
public sealed class Dopri5Options
{
    /// <summary>Points of the output grid (the official <c>num_steps</c>); the solver picks its own steps between them.</summary>
    public int NumSteps { get; set; } = 50;

    /// <summary>Time shift s; null computes s = sqrt(C h w / shift_base) from the latent.</summary>
    public double? Shift { get; set; }

    public double ShiftBase { get; set; } = 4096;

    /// <summary>Absolute error tolerance (per element, in the RMS error norm).</summary>
    public double Atol { get; set; } = 1e-6;

    /// <summary>Relative error tolerance.</summary>
    public double Rtol { get; set; } = 1e-3;

    /// <summary>The most velocity evaluations one sampling run may take; the run fails with a message beyond it.</summary>
    public int MaxEvaluations { get; set; } = 1000;

    public Dopri5Sampler Create(ILogger? logger = null) =>
        new(new TimeGridSettings(NumSteps, Shift, ShiftBase), Atol, Rtol, MaxEvaluations, logger);
}
