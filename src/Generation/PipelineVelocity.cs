using RaePipeline.Abstractions;
using RaePipeline.FlowMatching;
using RaePipeline.Pipeline;
using static TorchSharp.torch;

namespace RaePipeline.Generation;

/// <summary>
/// The velocity field a pipeline samples with, from its <c>guidance</c> block: the plain denoiser, classifier-free
/// guidance on the doubled batch [x; x] with labels [y; null] (as the official sampling scripts), or AutoGuidance
/// with the weaker <c>guidance.guide</c> denoiser (per sample, so no doubled batch is needed).
/// </summary>
public sealed class PipelineVelocity
{
    readonly VelocityField field;

    public PipelineVelocity(IPipelineComponents components)
    {
        var guidance = components.Guidance;
        var interval = new GuidanceInterval(guidance.Interval[0], guidance.Interval[1]);
        var denoiser = components.Denoiser;
        NullLabel = denoiser.NullLabel;
        (field, DoublesBatch) = guidance.Method switch
        {
            "cfg" => (new ClassifierFreeGuidance(denoiser, guidance.Scale, interval).Field, true),
            "autoguidance" => (new AutoGuidance(denoiser, components.GuideDenoiser, guidance.Scale, interval).Field, false),
            _ => (UnguidedVelocity.Of(denoiser), false),
        };
    }

    /// <summary>True for CFG: the sampler integrates [noise; noise] with labels [y; null] and the result is the first half.</summary>
    public bool DoublesBatch { get; }

    public long NullLabel { get; }

    /// <summary>noise: (b, C, h, w), labels: (b,) -> sampled latents (b, C, h, w) at the grid's last time.</summary>
    public Tensor Sample(ISampler sampler, Tensor noise, Tensor labels, Tensor grid, Generator? generator)
    {
        using var scope = NewDisposeScope();
        if (!DoublesBatch)
            return sampler.Sample(field, noise, labels, grid, generator).MoveToOuterDisposeScope();
        var (x, y) = GuidanceBatch.Double(noise, labels, NullLabel);
        var doubled = sampler.Sample(field, x, y, grid, generator);
        return GuidanceBatch.FirstHalf(doubled).contiguous().MoveToOuterDisposeScope();
    }
}
