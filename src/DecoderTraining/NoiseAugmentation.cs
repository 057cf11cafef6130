using RaePipeline.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.DecoderTraining;

/// <summary>
/// The decoder's noise augmentation on raw latents: per sample sigma = tau * U(0, 1), z + sigma * N(0, I), so the
/// decoder learns to decode the slightly off latents a diffusion model produces. With a per-element
/// <see cref="Scale"/> (the latent statistics' sqrt(var + eps)) the noise is sigma * scale * N(0, I): tau then counts
/// in the normalized units the diffusion model works in, which matters for latents whose channels differ in scale by
/// orders of magnitude (CNN features) and changes nothing for latents normalized to unit scale. Sample n's sigma and
/// noise come from its own stream (<see cref="SampleRandomness"/>), so they do not depend on the batch's split among
/// ranks or on where a resumed run restarted; tau = 0 turns it off.
/// </summary>
public sealed class NoiseAugmentation
{
    /// <param name="scale">Per-element noise scale (C, h, w) or (C, 1, 1), or null for unit scale. Not taken over.</param>
    public NoiseAugmentation(double tau, Tensor? scale = null)
    {
        if (!(tau >= 0) || double.IsInfinity(tau)) throw new ArgumentOutOfRangeException(nameof(tau), tau, "noise tau must be a finite number >= 0");
        Tau = tau;
        Scale = scale;
    }

    public double Tau { get; }

    /// <summary>What the unit noise is multiplied by, element by element (null: 1).</summary>
    public Tensor? Scale { get; }

    /// <summary>
    /// latents: (B, ...) -> latents + sigma_b * N(0, I) with sigma_b = tau * U(0, 1) per sample, row b drawn from
    /// sample <paramref name="firstSample"/> + b's stream of <paramref name="randomness"/> (sigma first, then the noise).
    /// </summary>
    public Tensor Apply(Tensor latents, SampleRandomness randomness, long firstSample)
    {
        if (Tau == 0) return latents.alias();
        using var scope = NewDisposeScope();
        var rows = new Tensor[latents.shape[0]];
        for (int b = 0; b < rows.Length; b++)
        {
            using var generator = randomness.For(firstSample + b);
            var sigma = rand([1], generator: generator) * Tau;
            rows[b] = sigma * randn(latents.shape[1..], generator: generator);
        }
        var noise = stack(rows).to(latents.dtype, latents.device);
        if (Scale is not null) noise = noise * Scale.to(latents.dtype, latents.device);
        return (latents + noise).MoveToOuterDisposeScope();
    }
}
