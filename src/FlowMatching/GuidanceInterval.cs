using static TorchSharp.torch;

namespace RaePipeline.FlowMatching;

/// <summary>
/// Where guidance applies: t_min ≤ t ≤ t_max, inclusive, per sample, compared in float32 (the official code
/// compares a float32 time tensor with Python floats). [0, 1] = always.
/// </summary>
public readonly record struct GuidanceInterval
{
    public GuidanceInterval(double tMin, double tMax)
    {
        // The official forward_with_cfg / forward_with_autoguidance assert t_min < t_max.
        if (!(tMin < tMax) || !double.IsFinite(tMin) || !double.IsFinite(tMax))
            throw new ArgumentException($"guidance interval must be [t_min, t_max] with t_min < t_max, got [{tMin}, {tMax}]");
        TMin = tMin;
        TMax = tMax;
    }

    public double TMin { get; }

    public double TMax { get; }

    public static GuidanceInterval Always { get; } = new(0.0, 1.0);

    /// <summary>t: (B,) float32 -> (B, 1, ..., 1) bool with <paramref name="rank"/> dimensions: inside the interval.</summary>
    public Tensor Mask(Tensor t, long rank)
    {
        using var scope = NewDisposeScope();
        var inside = t.ge((float)TMin).logical_and(t.le((float)TMax));
        var shape = new long[rank];
        Array.Fill(shape, 1L);
        shape[0] = t.shape[0];
        return inside.view(shape).MoveToOuterDisposeScope();
    }

    /// <summary>Whether one float32 time is inside, with the same float32 comparison as <see cref="Mask"/>.</summary>
    public bool Contains(float t) => t >= (float)TMin && t <= (float)TMax;

    public override string ToString() => $"[{TMin}, {TMax}]";
}
