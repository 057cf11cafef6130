using Microsoft.Extensions.Logging.Abstractions;
using RaePipeline.Abstractions;
using RaePipeline.Pipeline;
using static TorchSharp.torch;

namespace RaePipeline.Evaluation.Tests;

/// <summary>Components for job tests: only what the test gives, every other role missing.</summary>
sealed class TestComponents(IEncoder? encoder = null, string encoderName = "tiny", IFeatureExtractor? extractor = null,
    string extractorName = "tiny-extractor") : IPipelineComponents
{
    public IEncoder Encoder => encoder ?? throw Missing(PipelineRole.Encoder);
    public IDecoder Decoder => throw Missing(PipelineRole.Decoder);
    public IDenoiser Denoiser => throw Missing(PipelineRole.Denoiser);
    public ISampler Sampler => throw Missing(PipelineRole.Sampler);
    public IFeatureExtractor FeatureExtractor => extractor ?? throw Missing(PipelineRole.FeatureExtractor);
    public IDenoiser GuideDenoiser => throw Missing(PipelineRole.GuideDenoiser);
    public RaePipeline.Latents.LatentStatistics? Statistics { get; set; }

    public GuidanceOptions Guidance { get; } = new();

    public bool Has(PipelineRole role) =>
        role == PipelineRole.Encoder ? encoder != null : role == PipelineRole.FeatureExtractor && extractor != null;

    public string NameOf(PipelineRole role) => role switch
    {
        PipelineRole.Encoder when encoder != null => encoderName,
        PipelineRole.FeatureExtractor when extractor != null => extractorName,
        _ => throw Missing(role),
    };

    static InvalidOperationException Missing(PipelineRole role) => new($"test pipeline has no {role.Key()}");
}

static class TestJobContext
{
    public static JobContext Create(string folder, IPipelineComponents components, DataOptions? data = null,
        IPipelineRunner? runner = null) => new()
    {
        Components = components,
        Device = CPU,
        Seed = 0,
        RunDirectory = folder,
        PipelineDirectory = folder,
        Data = data ?? new DataOptions(),
        LoggerFactory = NullLoggerFactory.Instance,
        Progress = ProgressReporter.Silent,
        Results = new RunResults(),
        Runner = runner ?? new NoRunner(),
    };

    sealed class NoRunner : IPipelineRunner
    {
        public RunSummary Run(string pipelinePath, IReadOnlyList<string> overrides, string runDirectory, IReadOnlySet<string> skipJobs) =>
            throw new InvalidOperationException("this test runs no pipelines");
    }
}

/// <summary>
/// A small deterministic encoder: 2×2 average pooling to a (3, 2, 2) grid, then a fixed nonlinear channel mix to
/// C = 6 channels, so its features are not a linear function of the pixels.
/// </summary>
sealed class PoolingEncoder : IEncoder
{
    readonly Tensor mix = linspace(-1, 1, 18).reshape(6, 3);

    public LatentShape LatentShape => new(6, 2, 2);
    public int InputSize => 16;
    public ImageNormalization ImageNormalization => ImageNormalization.Half;

    public Tensor Encode(Tensor images)
    {
        using var scope = NewDisposeScope();
        var pooled = nn.functional.adaptive_avg_pool2d(images, [2, 2]);            // (B, 3, 2, 2)
        var mixed = einsum("oc,bchw->bohw", mix, pooled);                            // (B, 6, 2, 2)
        return mixed.tanh().MoveToOuterDisposeScope();
    }

    public void Dispose() => mix.Dispose();
}

/// <summary>A feature extractor with a classifier: features are channel means and variances, probabilities their softmax.</summary>
sealed class MomentsExtractor : IFeatureExtractor
{
    public int FeatureDimension => 6;

    public Tensor Features(Tensor images)
    {
        using var scope = NewDisposeScope();
        return cat([images.mean([2, 3]), images.var([2, 3])], 1).MoveToOuterDisposeScope();
    }

    public Tensor? ClassProbabilities(Tensor images)
    {
        using var scope = NewDisposeScope();
        return nn.functional.softmax(Features(images) * 20, 1).MoveToOuterDisposeScope();
    }

    public void Dispose() { }
}
