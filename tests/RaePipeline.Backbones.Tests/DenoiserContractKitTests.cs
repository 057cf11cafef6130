using RaePipeline.Abstractions;
using RaePipeline.Abstractions.Testing;
using RaePipeline.Backbones.DiffusionTransformers;
using TorchSharp;

namespace RaePipeline.Backbones.Tests;

/// <summary>
/// The bundled denoisers through the contract kit third parties use, built by their registrations at a tiny size.
/// A fresh DiT's zero-initialized output layers make its velocity zero for every input; the weights are filled
/// from the seed so that determinism and gradients are checked on a function that is not constant.
/// </summary>
static class TinyDenoisers
{
    public static readonly LatentShape Latent = new(8, 4, 4);

    public static IDenoiser Seeded(IDenoiser denoiser, long seed)
    {
        using var generator = new torch.Generator((ulong)seed + 1000, torch.CPU);
        using var noGrad = torch.no_grad();
        foreach (var parameter in denoiser.Module.parameters().Where(p => p.requires_grad)) parameter.normal_(0, 0.1, generator);
        return denoiser;
    }
}

public sealed class DiTDHContractTests : DenoiserContractTests
{
    protected override IDenoiser CreateDenoiser(long seed) => TinyDenoisers.Seeded(
        Registrations.DiTDH.Create(Registrations.Context(latent: TinyDenoisers.Latent, seed: seed),
            new DiTDHOptions { HiddenSize = [16, 24], Depth = [1, 1], NumHeads = [2, 3], NumClasses = 5 }), seed);
}

public sealed class LightningDiTContractTests : DenoiserContractTests
{
    protected override IDenoiser CreateDenoiser(long seed) => TinyDenoisers.Seeded(
        Registrations.LightningDiT.Create(Registrations.Context(latent: TinyDenoisers.Latent, seed: seed),
            new LightningDiTOptions { HiddenSize = 16, Depth = 2, NumHeads = 2, NumClasses = 5 }), seed);
}
