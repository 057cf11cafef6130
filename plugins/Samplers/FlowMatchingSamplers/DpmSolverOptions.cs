namespace RaePipeline.Samplers.FlowMatching;

/// <summary>Options of <c>dpm-solver-2m</c> (YAML keys in snake_case).</summary>
public sealed class DpmSolverOptions
{
    /// <summary>Grid points N of the shifted time grid: N - 1 steps, one evaluation each.</summary>
    public int NumSteps { get; set; } = 50;

    /// <summary>Time shift s; null computes s = sqrt(C h w / shift_base) from the latent.</summary>
    public double? Shift { get; set; }

    public double ShiftBase { get; set; } = 4096;

    /// <summary>Take the final step at first order (see <see cref="DpmSolver2MSampler"/>).</summary>
    public bool LowerOrderFinal { get; set; } = true;

    public DpmSolver2MSampler Create() => new(new TimeGridSettings(NumSteps, Shift, ShiftBase), LowerOrderFinal);
}
