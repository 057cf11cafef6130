namespace RaePipeline.Pipeline;

/// <summary>The component roles a pipeline file can name, with their YAML keys.</summary>
public enum PipelineRole
{
    Encoder,
    Decoder,
    Denoiser,
    Sampler,
    FeatureExtractor,
    GuideDenoiser,
}

public static class PipelineRoles
{
    /// <summary>The YAML key of a role (<c>encoder</c>, <c>feature_extractor</c>, ...).</summary>
    public static string Key(this PipelineRole role) => role switch
    {
        PipelineRole.Encoder => "encoder",
        PipelineRole.Decoder => "decoder",
        PipelineRole.Denoiser => "denoiser",
        PipelineRole.Sampler => "sampler",
        PipelineRole.FeatureExtractor => "feature_extractor",
        PipelineRole.GuideDenoiser => "guidance.guide",
        _ => throw new ArgumentOutOfRangeException(nameof(role)),
    };
}
