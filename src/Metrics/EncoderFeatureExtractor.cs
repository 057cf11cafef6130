using RaePipeline.Abstractions;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Metrics;

/// <summary>
/// Features from a representation encoder for Fréchet distances in its own feature space (FD-DINOv2 style): the
/// encoder's latent tokens averaged over positions, (B, C). The encoder resizes and normalizes images itself.
/// The adapter does not own the encoder unless <paramref name="ownsEncoder"/> says so.
/// </summary>
public sealed class EncoderFeatureExtractor(IEncoder encoder, bool ownsEncoder = false) : IFeatureExtractor
{
    public int FeatureDimension => encoder.LatentShape.Channels;

    /// <summary>images: (B, 3, H, W) in [0, 1] -> (B, C) float32, the mean of the (B, C, h, w) latent over h and w.</summary>
    public Tensor Features(Tensor images)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var latents = encoder.Encode(images);
        if (latents.dim() != 4 || latents.shape[1] != FeatureDimension)
            throw new InvalidOperationException(
                $"the encoder returned latents [{string.Join(", ", latents.shape)}]; expected (B, {FeatureDimension}, h, w) as its latent shape {encoder.LatentShape} says");
        return latents.mean([2, 3]).to(float32).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        if (ownsEncoder) encoder.Dispose();
    }
}
