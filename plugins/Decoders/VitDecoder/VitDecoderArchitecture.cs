using RaePipeline.Abstractions;
using RaePipeline.VisionTransformers;

namespace RaePipeline.Decoders.VitDecoder;

/// <summary>Sizes of RAE's ViT decoder: its transformer, the latent it reads and the pixel patch it writes.</summary>
public sealed record VitDecoderArchitecture(
    int Width, int Layers, int Heads, int MlpWidth, LatentShape Latent, int PatchSize,
    double LayerNormEps = 1e-12, FeedForwardActivation Activation = FeedForwardActivation.Gelu)
{
    public int Tokens => Latent.Height * Latent.Width;

    public int OutputSize => Latent.Height * PatchSize;

    /// <summary>Presets of RAE's configs/decoder: (width, depth, heads, MLP width).</summary>
    public static IReadOnlyDictionary<string, (int Width, int Layers, int Heads, int MlpWidth)> Presets { get; } =
        new Dictionary<string, (int, int, int, int)>(StringComparer.OrdinalIgnoreCase)
        {
            ["ViT-B"] = (768, 12, 12, 3072),
            ["ViT-L"] = (1024, 24, 16, 4096),
            ["ViT-XL"] = (1152, 28, 16, 4096),
        };

    /// <summary>Parameters of the decoder (all trainable except the fixed position table).</summary>
    public long ParameterCount
    {
        get
        {
            long w = Width, c = Latent.Channels, m = MlpWidth, p = PatchSize * PatchSize * 3;
            long layer = 4 * (w * w + w) + 2 * w * m + m + w + 4 * w;
            return c * w + w + (1 + Tokens) * w + w + Layers * layer + 2 * w + w * p + p;
        }
    }
}
