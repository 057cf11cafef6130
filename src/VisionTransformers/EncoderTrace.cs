using static TorchSharp.torch;

namespace RaePipeline.VisionTransformers;

/// <summary>The intermediate tensors of one RAE encode, for parity checks and inspection.</summary>
public sealed record EncoderTrace(
    Tensor ImagesResized,           // (B, 3, S, S) in [0, 1]
    Tensor PixelValues,             // (B, 3, S, S) normalized
    Tensor TokensBeforeFinalNorm,   // (B, prefix + h·w, C)
    Tensor Latents) : IDisposable   // (B, C, h, w)
{
    public void Dispose()
    {
        ImagesResized.Dispose();
        PixelValues.Dispose();
        TokensBeforeFinalNorm.Dispose();
        Latents.Dispose();
    }
}
