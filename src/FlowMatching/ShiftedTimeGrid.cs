using static TorchSharp.torch;

namespace RaePipeline.FlowMatching;

/// <summary>
/// The sampling time grid of the official samplers: t_i = shift(1 - linspace(start, end, N)[i]), i = 0..N-1, in
/// float32. With the ODE defaults (start 0, end 0.999) it runs from t = 1 (pure noise) down to shift(0.001).
/// N grid points are N - 1 steps. (PyTorch's CPU linspace may round one element differently by one float32 ulp
/// from libtorch's; the official grid and this one agree to about 1e-7.)
/// </summary>
public static class ShiftedTimeGrid
{
    /// <summary>(N,) float32 on <paramref name="device"/> (CPU when null), decreasing from shift(1 - start).</summary>
    public static Tensor Build(int numPoints, TimeShift shift, double start = FlowMatchingInterval.Start,
        double end = FlowMatchingInterval.End, Device? device = null)
    {
        if (numPoints < 2)
            throw new ArgumentOutOfRangeException(nameof(numPoints), numPoints, "a time grid needs at least 2 points (1 step)");
        if (!(start >= 0 && start < end && end <= 1))
            throw new ArgumentOutOfRangeException(nameof(end), $"expected 0 <= start < end <= 1, got start {start}, end {end}");
        using var scope = NewDisposeScope();
        var unshifted = 1.0f - linspace(start, end, numPoints, dtype: ScalarType.Float32);
        var grid = shift.Apply(unshifted);
        return (device is null ? grid : grid.to(device)).MoveToOuterDisposeScope();
    }
}
