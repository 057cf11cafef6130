using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Abstractions;

/// <summary>A trainable pixel decoder: raw latents back to images.</summary>
public interface IDecoder : IDisposable
{
    /// <summary>Shape of the latents it decodes: (C, h, w).</summary>
    LatentShape LatentShape { get; }

    /// <summary>Side of the images it produces.</summary>
    int OutputSize { get; }

    /// <summary>latents: (B, C, h, w) raw (un-normalized) -> images (B, 3, OutputSize, OutputSize), about [0, 1], not clamped.</summary>
    Tensor Decode(Tensor latents);

    /// <summary>The trainable module; its state-dict keys equal the reference checkpoints' keys.</summary>
    nn.Module Module { get; }
}
