using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.DecoderTraining;

/// <summary>
/// The decoder's noise augmentation on raw latents: per sample sigma = tau * U(0, 1), z + sigma * N(0, I), so the
/// decoder learns to decode the slightly off latents a diffusion model produces. The draws come from the generator
/// the caller passes (one per step makes a resumed run draw what the uninterrupted one would); tau = 0 turns it off.
/// </summary>
public sealed class NoiseAugmentation
{
    public NoiseAugmentation(double tau)
    {
        if (!(tau >= 0) || double.IsInfinity(tau)) throw new ArgumentOutOfRangeException(nameof(tau), tau, "noise tau must be a finite number >= 0");
        Tau = tau;
    }

    public double Tau { get; }

    /// <summary>latents: (B, ...) -> latents + sigma_b * N(0, I) with sigma_b = tau * U(0, 1) per sample.</summary>
    public Tensor Apply(Tensor latents, Generator generator)
    {
        if (Tau == 0) return latents.alias();
        using var scope = NewDisposeScope();
        long batch = latents.shape[0];
        var sigmaShape = new long[latents.dim()];
        Array.Fill(sigmaShape, 1L);
        sigmaShape[0] = batch;
        var sigma = rand(sigmaShape, generator: generator) * Tau;
        var noise = randn(latents.shape, generator: generator);
        return (latents + (sigma * noise).to(latents.dtype, latents.device)).MoveToOuterDisposeScope();
    }
}
