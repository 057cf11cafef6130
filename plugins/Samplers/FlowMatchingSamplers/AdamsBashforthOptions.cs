namespace RaePipeline.Samplers.FlowMatching;

/// <summary>Options of <c>adams-bashforth</c> (YAML keys in snake_case).</summary>
public sealed class AdamsBashforthOptions
{
    /// <summary>Grid points N of the shifted time grid: N - 1 steps, one evaluation each.</summary>
    public int NumSteps { get; set; } = 50;

    /// <summary>Time shift s; null computes s = sqrt(C h w / shift_base) from the latent.</summary>
    public double? Shift { get; set; }

    public double ShiftBase { get; set; } = 4096;

    /// <summary>The highest order, 1 (Euler) to 4; 3 as ComfyUI's <c>deis</c> default (see <see cref="AdamsBashforthSampler"/>).</summary>
    public int MaxOrder { get; set; } = 3;

    public AdamsBashforthSampler Create() => new(new TimeGridSettings(NumSteps, Shift, ShiftBase), MaxOrder);
}
