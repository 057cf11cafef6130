using RaePipeline.Abstractions;
using RaePipeline.FlowMatching;
using static TorchSharp.torch;

namespace RaePipeline.Samplers.FlowMatching;

/// <summary>
/// How a sampler builds its grid: <see cref="NumPoints"/> grid points on the shifted grid, with the shift given
/// explicitly or computed from the latent as sqrt(C h w / <see cref="ShiftBase"/>).
/// </summary>
public sealed record TimeGridSettings
{
    public TimeGridSettings(int numPoints, double? shift = null, double shiftBase = TimeShift.DefaultBase)
    {
        if (numPoints < 2)
            throw new ComponentConfigurationException(
                $"num_steps must be at least 2 (grid points, including both ends), got {numPoints}", "num_steps");
        if (shift is { } s && (!double.IsFinite(s) || s <= 0))
            throw new ComponentConfigurationException($"shift must be a finite positive number or null (computed), got {s}", "shift");
        if (!double.IsFinite(shiftBase) || shiftBase <= 0)
            throw new ComponentConfigurationException($"shift_base must be a finite positive number, got {shiftBase}", "shift_base");
        NumPoints = numPoints;
        Shift = shift;
        ShiftBase = shiftBase;
    }

    /// <summary>Grid points N (the official <c>num_steps</c>): N - 1 solver steps.</summary>
    public int NumPoints { get; }

    /// <summary>Explicit shift s, or null to compute it from the latent.</summary>
    public double? Shift { get; }

    public double ShiftBase { get; }

    public TimeShift ShiftFor(LatentShape latent) =>
        Shift is { } s ? new TimeShift(s) : TimeShift.FromLatent(latent, ShiftBase);

    /// <summary>(N,) float32: shift(1 - linspace(start, end, N)).</summary>
    public Tensor Build(LatentShape latent, double start = FlowMatchingInterval.Start, double end = FlowMatchingInterval.End) =>
        ShiftedTimeGrid.Build(NumPoints, ShiftFor(latent), start, end);
}
