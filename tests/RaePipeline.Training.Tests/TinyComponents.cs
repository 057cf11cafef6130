using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using RaePipeline.Abstractions;
using RaePipeline.Backbones.DiffusionTransformers;
using RaePipeline.Latents;
using RaePipeline.Pipeline;
using RaePipeline.Samplers.FlowMatching;
using RaePipeline.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Training.Tests;

/// <summary>
/// A frozen stand-in encoder: mean over p x p patches, then a fixed random 1x1 projection from RGB to C channels.
/// images (B, 3, S, S) -> latents (B, C, S/p, S/p).
/// </summary>
public sealed class PatchMeanEncoder : IEncoder
{
    readonly Tensor projection; // (C, 3)
    readonly int patch;

    public PatchMeanEncoder(int imageSize, int patch, int channels, long seed)
    {
        this.patch = patch;
        InputSize = imageSize;
        LatentShape = new LatentShape(channels, imageSize / patch, imageSize / patch);
        using var generator = new Generator((ulong)seed, torch.CPU);
        projection = torch.randn([channels, 3], generator: generator).DetachFromDisposeScope();
    }

    public LatentShape LatentShape { get; }
    public int InputSize { get; }
    public ImageNormalization ImageNormalization => ImageNormalization.Half;

    /// <summary>Encoder calls so far (to see whether a cache re-encodes).</summary>
    public int Calls { get; private set; }

    public Tensor Encode(Tensor images)
    {
        Calls++;
        using var scope = NewDisposeScope();
        using var noGrad = torch.no_grad();
        var pooled = torch.nn.functional.avg_pool2d((images - 0.5) / 0.5, patch); // (B, 3, h, w)
        return torch.einsum("ck,bkhw->bchw", projection, pooled).MoveToOuterDisposeScope();
    }

    /// <summary>Changes the encoder's weights in place (a different checkpoint under the same name).</summary>
    public void Perturb()
    {
        using var noGrad = torch.no_grad();
        projection.mul_(1.5);
    }

    public void Dispose() => projection.Dispose();
}

/// <summary>An encoder whose latents come out already normalized with given statistics.</summary>
public sealed class NormalizingEncoder(IEncoder inner, LatentStatistics statistics) : IEncoder
{
    public LatentShape LatentShape => inner.LatentShape;
    public int InputSize => inner.InputSize;
    public ImageNormalization ImageNormalization => inner.ImageNormalization;

    public Tensor Encode(Tensor images)
    {
        using var scope = NewDisposeScope();
        return statistics.Normalize(inner.Encode(images)).MoveToOuterDisposeScope();
    }

    public void Dispose() => inner.Dispose();
}

/// <summary>
/// A stand-in decoder: a learnable 1x1 projection back to RGB, then nearest upsampling by p. Like real plugins it
/// keeps a plain tensor made in its constructor, so it breaks if it is built inside a dispose scope that ends.
/// </summary>
public sealed class ProjectionDecoder(LatentShape latent, int patch) : IDecoder
{
    readonly nn.Module<Tensor, Tensor> projection = torch.nn.Conv2d(latent.Channels, 3, 1);
    readonly Tensor half = torch.tensor(0.5f);

    public LatentShape LatentShape => latent;
    public int OutputSize => latent.Height * patch;
    public nn.Module Module => projection;

    public Tensor Decode(Tensor latents)
    {
        using var scope = NewDisposeScope();
        var rgb = projection.forward(latents) * half + half;
        return torch.nn.functional.interpolate(rgb, scale_factor: [patch, patch], mode: InterpolationMode.Nearest)
            .MoveToOuterDisposeScope();
    }

    public void Dispose() => projection.Dispose();
}

/// <summary>The components a test pipeline names; unnamed roles throw like the host's.</summary>
public sealed class TestComponents : IPipelineComponents, IDisposable
{
    Lazy<IDecoder>? decoder;

    public IEncoder? EncoderOrNull { get; init; }
    public IDenoiser? DenoiserOrNull { get; init; }
    public ISampler? SamplerOrNull { get; init; }

    /// <summary>Built on first access, as the host builds components.</summary>
    public Func<IDecoder>? CreateDecoder { init => decoder = value is null ? null : new Lazy<IDecoder>(value); }

    IDecoder? DecoderOrNull => decoder?.Value;

    public IEncoder Encoder => EncoderOrNull ?? throw Missing(PipelineRole.Encoder);
    public IDecoder Decoder => DecoderOrNull ?? throw Missing(PipelineRole.Decoder);
    public IDenoiser Denoiser => DenoiserOrNull ?? throw Missing(PipelineRole.Denoiser);
    public ISampler Sampler => SamplerOrNull ?? throw Missing(PipelineRole.Sampler);
    public IFeatureExtractor FeatureExtractor => throw Missing(PipelineRole.FeatureExtractor);
    public IDenoiser GuideDenoiser => throw Missing(PipelineRole.GuideDenoiser);
    public GuidanceOptions Guidance { get; init; } = new();
    public LatentStatistics? Statistics { get; set; }

    public bool Has(PipelineRole role) => role switch
    {
        PipelineRole.Encoder => EncoderOrNull != null,
        PipelineRole.Decoder => decoder != null,
        PipelineRole.Denoiser => DenoiserOrNull != null,
        PipelineRole.Sampler => SamplerOrNull != null,
        _ => false,
    };

    public string NameOf(PipelineRole role) => Has(role) ? $"test-{role.Key()}" : throw Missing(role);

    static InvalidOperationException Missing(PipelineRole role) => new($"the test pipeline has no '{role.Key()}'");

    public void Dispose()
    {
        EncoderOrNull?.Dispose();
        DenoiserOrNull?.Dispose();
        if (decoder is { IsValueCreated: true }) decoder.Value.Dispose();
    }
}

/// <summary>A tiny pipeline: 16 px synthetic images, a 4x4x8 latent, a DiT^DH of a few thousand parameters.</summary>
public static class TinyPipeline
{
    public const int ImageSize = 16, Patch = 4, Channels = 8, Classes = 4;

    public static DiffusionTransformerSpec DenoiserSpec => new()
    {
        Kind = DiffusionTransformerKind.DiTDH,
        InChannels = Channels,
        InputSize = ImageSize / Patch,
        Backbone = new TransformerSize(32, 2, 2),
        Head = new TransformerSize(48, 1, 2),
        NumClasses = Classes,
    };

    public static TestComponents Components(bool withSampling = false)
    {
        var latent = new LatentShape(Channels, ImageSize / Patch, ImageSize / Patch);
        return new TestComponents
        {
            EncoderOrNull = new PatchMeanEncoder(ImageSize, Patch, Channels, seed: 3),
            DenoiserOrNull = DiffusionTransformerDenoiser.Create(DenoiserSpec, null, WeightFiles.CheckpointEntry.Ema, seed: 4, torch.CPU),
            CreateDecoder = withSampling ? () => new ProjectionDecoder(latent, Patch) : null,
            SamplerOrNull = withSampling ? new EulerSampler(new TimeGridSettings(4)) : null,
            Guidance = withSampling ? new GuidanceOptions { Method = RaePipeline.FlowMatching.GuidanceMethod.Cfg, Scale = 1.5 } : new GuidanceOptions(),
        };
    }

    public static DataOptions Data(string? latentCache = null) => new()
    {
        Source = "synthetic", ImageSize = ImageSize, NumClasses = Classes, ImagesPerClass = 8, LatentCache = latentCache,
    };

    public static JobContext Context(IPipelineComponents components, string runDirectory, DataOptions data, long seed = 0,
        CancellationToken cancellation = default, ILoggerFactory? logs = null)
    {
        Directory.CreateDirectory(runDirectory);
        return new JobContext
        {
            Components = components,
            Device = torch.CPU,
            Seed = seed,
            RunDirectory = runDirectory,
            PipelineDirectory = runDirectory,
            Data = data,
            LoggerFactory = logs ?? NullLoggerFactory.Instance,
            Progress = ProgressReporter.Silent,
            Results = new RunResults(),
            Runner = new NoRunner(),
            Cancellation = cancellation,
        };
    }

    sealed class NoRunner : IPipelineRunner
    {
        public RunSummary Run(string pipelinePath, IReadOnlyList<string> overrides, string runDirectory, IReadOnlySet<string> skipJobs) =>
            throw new NotSupportedException("training tests run no nested pipelines");
    }
}
