namespace RaePipeline.FlowMatching;

/// <summary>How a sampling run guides its denoiser (a pipeline's <c>guidance.method</c>: <c>none</c>, <c>cfg</c>, <c>autoguidance</c>).</summary>
public enum GuidanceMethod
{
    /// <summary>The conditional model alone.</summary>
    None,

    /// <summary>Classifier-free guidance: the unconditional prediction of the same model is the weak one.</summary>
    Cfg,

    /// <summary>AutoGuidance: a weaker denoiser (the pipeline's <c>guidance.guide</c>) is the weak one.</summary>
    Autoguidance,
}
