namespace RaePipeline.Samplers.FlowMatching;

/// <summary>
/// Options of the fixed-grid ODE samplers <c>euler</c>, <c>heun</c>, <c>midpoint</c> and <c>rk4</c> (YAML keys in snake_case).
/// </summary>
public sealed class OdeSamplerOptions
{
    /// <summary>Grid points N of the shifted time grid (the official <c>num_steps</c>): N - 1 solver steps.</summary>
    public int NumSteps { get; set; } = 50;

    /// <summary>Time shift s; null computes s = sqrt(C h w / shift_base) from the latent.</summary>
    public double? Shift { get; set; }

    /// <summary>The base of the computed shift (the official <c>time_dist_shift_base</c>).</summary>
    public double ShiftBase { get; set; } = 4096;

    public TimeGridSettings ToGrid() => new(NumSteps, Shift, ShiftBase);
}
