using RaePipeline.Abstractions;
using RaePipeline.FlowMatching;
using RaePipeline.Pipeline;

namespace RaePipeline.Generation;

/// <summary>The velocity field a pipeline's <c>guidance</c> block asks for, around a given main denoiser.</summary>
public static class PipelineGuidance
{
    /// <summary>CFG, AutoGuidance (with the pipeline's <c>guidance.guide</c>) or none, as <see cref="GuidedVelocity"/> chooses.</summary>
    public static GuidedVelocity Velocity(IPipelineComponents components, IDenoiser main)
    {
        var guidance = components.Guidance;
        return GuidedVelocity.Create(guidance.Method, guidance.Scale,
            new GuidanceInterval(guidance.Interval[0], guidance.Interval[1]), main,
            guidance.Method == GuidanceMethod.Autoguidance ? components.GuideDenoiser : null);
    }
}
