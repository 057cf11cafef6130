using RaePipeline.Abstractions;
using static TorchSharp.torch;

namespace RaePipeline.FlowMatching;

/// <summary>
/// The field a sampling run integrates and the batch it runs on, chosen as the official <c>src/sample_ddp.py</c>
/// does: with scale &gt; 1, <c>cfg</c> uses <see cref="ClassifierFreeGuidance"/> and <c>autoguidance</c> uses
/// <see cref="AutoGuidance"/>, both on the doubled batch [noise; noise], [labels; null]; otherwise (scale ≤ 1 or
/// method <c>none</c>) the plain conditional model on the batch as it is.
/// Use: (x, y) = Prepare(noise, labels); state = sampler.Sample(Field, x, y, grid); samples = Result(state).
/// </summary>
public sealed class GuidedVelocity
{
    GuidedVelocity(VelocityField field, bool doublesBatch, long nullLabel, string description)
    {
        Field = field;
        DoublesBatch = doublesBatch;
        NullLabel = nullLabel;
        Description = description;
    }

    public VelocityField Field { get; }

    /// <summary>Whether the sampler runs on the doubled batch (and the samples are its first half).</summary>
    public bool DoublesBatch { get; }

    public long NullLabel { get; }

    /// <summary>What was chosen, for logs: e.g. <c>cfg 1.5 on [0, 1]</c>.</summary>
    public string Description { get; }

    /// <param name="guide">The weaker denoiser; required for <see cref="GuidanceMethod.Autoguidance"/> with scale &gt; 1.</param>
    public static GuidedVelocity Create(GuidanceMethod method, double scale, GuidanceInterval interval, IDenoiser main, IDenoiser? guide = null)
    {
        if (method == GuidanceMethod.None || scale <= 1.0)
            return new GuidedVelocity(UnguidedVelocity.Of(main), false, main.NullLabel, "no guidance");
        if (method == GuidanceMethod.Cfg)
            return new GuidedVelocity(new ClassifierFreeGuidance(main, scale, interval).Field, true, main.NullLabel,
                $"cfg {scale} on {interval}");
        if (guide is null)
            throw new ArgumentException("autoguidance needs a guide denoiser (the pipeline's guidance.guide block)");
        return new GuidedVelocity(new AutoGuidance(main, guide, scale, interval).Field, true, main.NullLabel,
            $"autoguidance {scale} on {interval}");
    }

    /// <summary>noise: (b, C, h, w), labels: (b,) -> the sampler's initial state and labels ((2b, ...) when doubling).</summary>
    public (Tensor X, Tensor Y) Prepare(Tensor noise, Tensor labels) =>
        DoublesBatch ? GuidanceBatch.Double(noise, labels, NullLabel) : (noise.alias(), labels.alias());

    /// <summary>The sampler's final state -> the b samples (the first half of a doubled batch).</summary>
    public Tensor Result(Tensor state) => DoublesBatch ? GuidanceBatch.FirstHalf(state) : state;
}
