using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Abstractions;

/// <summary>
/// A frozen representation encoder (DINOv2, SigLIP2, MAE, ...): images to latent token grids.
/// Implementations hold no gradient state: parameters have requires_grad = false, the module is in eval mode and
/// <see cref="Encode"/> runs under no_grad.
/// </summary>
public interface IEncoder : IDisposable
{
    /// <summary>Shape of one latent: (C, h, w), C = encoder width, h = w = input size / patch size.</summary>
    LatentShape LatentShape { get; }

    /// <summary>Side of the square image the encoder runs at (inputs of another size are resized bicubically).</summary>
    int InputSize { get; }

    /// <summary>Mean/std the images are normalized with before the encoder.</summary>
    ImageNormalization ImageNormalization { get; }

    /// <summary>images: (B, 3, H, W) float32 in [0, 1] -> raw latents (B, C, h, w) (no latent statistics applied).</summary>
    Tensor Encode(Tensor images);
}
