using RaePipeline.Abstractions;
using RaePipeline.Pipeline;

namespace RaePipeline.DecoderTraining.Tests;

/// <summary>The two components train-decoder needs; every other role is absent.</summary>
sealed class TestPipelineComponents(IEncoder encoder, IDecoder decoder) : IPipelineComponents
{
    public IEncoder Encoder => encoder;
    public IDecoder Decoder => decoder;
    public IDenoiser Denoiser => throw Absent(PipelineRole.Denoiser);
    public ISampler Sampler => throw Absent(PipelineRole.Sampler);
    public IFeatureExtractor FeatureExtractor => throw Absent(PipelineRole.FeatureExtractor);
    public IDenoiser GuideDenoiser => throw Absent(PipelineRole.GuideDenoiser);
    public RaePipeline.Latents.LatentStatistics? Statistics { get; set; }

    public GuidanceOptions Guidance => throw new InvalidOperationException("no guidance block in this test pipeline");
    public bool Has(PipelineRole role) => role is PipelineRole.Encoder or PipelineRole.Decoder;
    public string NameOf(PipelineRole role) => role switch
    {
        PipelineRole.Encoder => "patch-projection",
        PipelineRole.Decoder => "vit-decoder",
        _ => throw Absent(role),
    };

    static InvalidOperationException Absent(PipelineRole role) => new($"no '{role.Key()}' block in this test pipeline");
}

sealed class NoPipelineRunner : IPipelineRunner
{
    public RunSummary Run(string pipelinePath, IReadOnlyList<string> overrides, string runDirectory, IReadOnlySet<string> skipJobs) =>
        throw new InvalidOperationException("train-decoder runs no other pipeline");
}
