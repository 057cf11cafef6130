using RaePipeline.Abstractions;
using static TorchSharp.torch;

namespace RaePipeline.FlowMatching;

/// <summary>
/// AutoGuidance as the official <c>DiTwDDTHead.forward_with_autoguidance</c>: the main model and a weaker guide
/// model (a smaller, under-trained class-conditional denoiser) see the same (x, t, y);
/// v = v_guide + w (v_main - v_guide) where t_min ≤ t ≤ t_max (per sample, inclusive, float32), else v_main.
/// It works per sample on any batch. The official <c>sample_ddp.py</c> still feeds it the doubled CFG batch
/// ([z; z], [labels; null]) and keeps the first half; do the same (<see cref="GuidanceBatch"/>) to reproduce its
/// numbers, or pass the undoubled batch to halve the cost (the first half is the same computation).
/// </summary>
public sealed class AutoGuidance
{
    readonly VelocityField main;
    readonly VelocityField guide;

    public AutoGuidance(VelocityField main, VelocityField guide, double scale, GuidanceInterval interval)
    {
        if (!double.IsFinite(scale)) throw new ArgumentOutOfRangeException(nameof(scale), scale, "guidance scale must be finite");
        this.main = main;
        this.guide = guide;
        Scale = scale;
        Interval = interval;
    }

    public AutoGuidance(IDenoiser main, IDenoiser guide, double scale, GuidanceInterval interval)
        : this(main.Forward, guide.Forward, scale, interval)
    {
        if (main.LatentShape != guide.LatentShape)
            throw new ArgumentException($"the AutoGuidance guide denoises latents {guide.LatentShape}, the main model {main.LatentShape}");
        if (main.NumClasses != guide.NumClasses)
            throw new ArgumentException($"the AutoGuidance guide has {guide.NumClasses} classes, the main model {main.NumClasses}");
    }

    public double Scale { get; }

    public GuidanceInterval Interval { get; }

    public VelocityField Field => Velocity;

    /// <summary>x: (B, C, h, w), t: (B,), y: (B,) -> v (B, C, h, w).</summary>
    public Tensor Velocity(Tensor x, Tensor t, Tensor y)
    {
        using var scope = NewDisposeScope();
        var vMain = main(x, t, y);
        var vGuide = guide(x, t, y);
        var guided = vGuide + (float)Scale * (vMain - vGuide);
        return where(Interval.Mask(t, vMain.dim()), guided, vMain).MoveToOuterDisposeScope();
    }
}
