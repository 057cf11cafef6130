using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Abstractions;

/// <summary>
/// A class-conditional velocity model for flow matching on x_t = (1 - t) z + t eps (t = 1 is pure noise):
/// predicts eps - z.
/// </summary>
public interface IDenoiser : IDisposable
{
    /// <summary>Shape of the latents it denoises: (C, h, w).</summary>
    LatentShape LatentShape { get; }

    /// <summary>Number of classes K; labels are 0..K-1, and K is the null (unconditional) label.</summary>
    int NumClasses { get; }

    int NullLabel => NumClasses;

    /// <summary>x: (B, C, h, w), t: (B,) float32 in [0, 1], y: (B,) int64 -> velocity (B, C, h, w).</summary>
    Tensor Forward(Tensor x, Tensor t, Tensor y);

    /// <summary>The trainable module; its state-dict keys equal the reference checkpoints' keys.</summary>
    nn.Module Module { get; }
}
