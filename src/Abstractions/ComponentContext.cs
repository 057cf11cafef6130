using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;

namespace RaePipeline.Abstractions;

/// <summary>What the host hands a component factory besides its options.</summary>
public sealed class ComponentContext
{
    /// <summary>Device the component's tensors and modules live on (from the pipeline's <c>device</c>).</summary>
    public required torch.Device Device { get; init; }

    /// <summary>The pipeline's seed; components that initialize weights randomly derive their generator from it.</summary>
    public long Seed { get; init; }

    /// <summary>The component's <c>weights</c> entry as an absolute path (checked to exist), or null when none.</summary>
    public string? WeightsPath { get; init; }

    /// <summary>Folder relative paths in options are resolved against (the pipeline file's folder).</summary>
    public required string BaseDirectory { get; init; }

    /// <summary>For decoders: the image normalization of the pipeline's encoder, which decoding inverts.</summary>
    public ImageNormalization? EncoderImageNormalization { get; init; }

    /// <summary>For decoders and denoisers: the latent shape the pipeline's encoder produces, when known.</summary>
    public LatentShape? EncoderLatent { get; init; }

    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;

    public string ResolvePath(string path) =>
        Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(BaseDirectory, path));
}
