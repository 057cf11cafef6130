using RaePipeline.Abstractions;
using static TorchSharp.torch;

namespace RaePipeline.FlowMatching;

/// <summary>
/// Classifier-free guidance exactly as the official <c>DiTwDDTHead.forward_with_cfg</c>, over the DOUBLED batch:
/// the sampler integrates x = [x_c; x_u] (2b, C, h, w) with labels y = [labels; null] (see <see cref="GuidanceBatch"/>).
/// Each call uses only the first half x[:b], duplicated, with the full t and y: [v_c; v_u] = model([x[:b]; x[:b]], t, y);
/// for each of the b samples v = v_u + w (v_c - v_u) where t_min ≤ t[:b] ≤ t_max, else v = v_c; it returns [v; v].
/// Both halves of the state therefore stay equal, and the caller keeps the first half of the result.
/// Guidance applies to all channels.
/// </summary>
public sealed class ClassifierFreeGuidance
{
    readonly VelocityField model;

    public ClassifierFreeGuidance(VelocityField model, double scale, GuidanceInterval interval)
    {
        if (!double.IsFinite(scale)) throw new ArgumentOutOfRangeException(nameof(scale), scale, "guidance scale must be finite");
        this.model = model;
        Scale = scale;
        Interval = interval;
    }

    public ClassifierFreeGuidance(IDenoiser model, double scale, GuidanceInterval interval)
        : this(model.Forward, scale, interval)
    {
    }

    public double Scale { get; }

    public GuidanceInterval Interval { get; }

    /// <summary>The guided field over the doubled batch: x (2b, C, h, w), t (2b,), y (2b,) -> [v; v] (2b, C, h, w).</summary>
    public VelocityField Field => Velocity;

    /// <summary>x: (2b, C, h, w), t: (2b,), y: (2b,) = [labels; null] -> [v; v] (2b, C, h, w).</summary>
    public Tensor Velocity(Tensor x, Tensor t, Tensor y)
    {
        var b = GuidanceBatch.HalfOf(x, "classifier-free guidance");
        using var scope = NewDisposeScope();
        var half = x[..(int)b];
        var output = model(cat([half, half], 0), t, y);
        var conditional = output[..(int)b];
        var unconditional = output[(int)b..];
        var guided = unconditional + (float)Scale * (conditional - unconditional);
        var v = where(Interval.Mask(t[..(int)b], output.dim()), guided, conditional);
        return cat([v, v], 0).MoveToOuterDisposeScope();
    }
}
