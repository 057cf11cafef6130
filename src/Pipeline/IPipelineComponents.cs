using RaePipeline.Abstractions;
using RaePipeline.Latents;

namespace RaePipeline.Pipeline;

/// <summary>
/// The components a pipeline names, built on first use (so a job loads only what it needs) and shared by every job
/// of the run: a decoder trained by <c>train-decoder</c> is the one <c>sample</c> decodes with.
/// Accessing a role the pipeline does not name throws an error that says which block to add.
/// </summary>
public interface IPipelineComponents
{
    IEncoder Encoder { get; }
    IDecoder Decoder { get; }
    IDenoiser Denoiser { get; }
    ISampler Sampler { get; }
    IFeatureExtractor FeatureExtractor { get; }

    /// <summary>The weaker denoiser of AutoGuidance (<c>guidance.guide</c>).</summary>
    IDenoiser GuideDenoiser { get; }

    GuidanceOptions Guidance { get; }

    /// <summary>
    /// Latent statistics: from the pipeline's <c>statistics</c> file (loaded on first use), or set by a job that
    /// computed them (<c>stats</c>); null when there are none (latents are then used as the encoder gives them).
    /// </summary>
    LatentStatistics? Statistics { get; set; }

    bool Has(PipelineRole role);

    /// <summary>The component name (plugin name) configured for a role, e.g. <c>dinov2</c>.</summary>
    string NameOf(PipelineRole role);
}
