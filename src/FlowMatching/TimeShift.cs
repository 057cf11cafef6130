using RaePipeline.Abstractions;
using static TorchSharp.torch;

namespace RaePipeline.FlowMatching;

/// <summary>
/// The dimension-dependent time shift shift(t) = s t / (1 + (s - 1) t), s = sqrt(dim / base), dim = C h w of the
/// latent and base 4096 by default (s = sqrt(48) for 768x16x16 latents). s = 1 is the identity; s > 1 moves times
/// toward noise (t = 1).
/// </summary>
public readonly record struct TimeShift
{
    public const double DefaultBase = 4096;

    public TimeShift(double s)
    {
        if (!double.IsFinite(s) || s <= 0)
            throw new ArgumentOutOfRangeException(nameof(s), s, "the time shift must be a finite positive number");
        S = s;
    }

    /// <summary>The shift factor s.</summary>
    public double S { get; }

    public static TimeShift None { get; } = new(1.0);

    /// <summary>s = sqrt(dimensions / shiftBase), computed in double as the official scripts do (math.sqrt).</summary>
    public static TimeShift FromDimensions(long dimensions, double shiftBase = DefaultBase)
    {
        if (dimensions <= 0) throw new ArgumentOutOfRangeException(nameof(dimensions), dimensions, "latent dimensions must be positive");
        if (!double.IsFinite(shiftBase) || shiftBase <= 0)
            throw new ArgumentOutOfRangeException(nameof(shiftBase), shiftBase, "the shift base must be a finite positive number");
        return new TimeShift(Math.Sqrt(dimensions / shiftBase));
    }

    /// <summary>s = sqrt(C h w / shiftBase) for a latent shape.</summary>
    public static TimeShift FromLatent(LatentShape latent, double shiftBase = DefaultBase) =>
        FromDimensions(latent.Elements, shiftBase);

    /// <summary>
    /// t: float32 tensor of any shape -> shift(t), same shape. Evaluated exactly as the official code does with a
    /// float32 tensor and a Python-double s: float32(s) * t / (1 + float32(s - 1) * t), every operation in float32.
    /// </summary>
    public Tensor Apply(Tensor t)
    {
        if (t.dtype != ScalarType.Float32)
            throw new ArgumentException($"time shift expects float32 times, got {t.dtype}", nameof(t));
        using var scope = NewDisposeScope();
        var numerator = t * (float)S;
        var denominator = t * (float)(S - 1) + 1.0f;
        return (numerator / denominator).MoveToOuterDisposeScope();
    }

    /// <summary>shift(t) for one time in double precision (for messages and checks, not for the float32 paths).</summary>
    public double Apply(double t) => S * t / (1 + (S - 1) * t);

    public override string ToString() => $"shift {S:G6}";
}
