using static TorchSharp.torch;

namespace RaePipeline.Abstractions;

/// <summary>
/// What a sampler integrates: x (B, C, h, w), t (B,), y (B,) -> velocity (B, C, h, w). A denoiser's
/// <see cref="IDenoiser.Forward"/>, or a guidance wrapper (CFG, AutoGuidance) around one or two denoisers.
/// </summary>
public delegate Tensor VelocityField(Tensor x, Tensor t, Tensor y);
