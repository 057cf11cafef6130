using RaePipeline.Backbones.DiffusionTransformers;
using RaePipeline.Weights;
using TorchSharp;
using Xunit.Abstractions;

namespace RaePipeline.Backbones.Tests;

[Trait("Category", "Parity")]
public class LightningDiTParityTests(ITestOutputHelper output)
{
    const string Case = "lightningdit";

    [ParityFact(Case)]
    public void Velocity_matches_with_weights_from_model_safetensors()
    {
        using var c = ParityKit.Open(Case);
        using var denoiser = Registrations.LightningDiT.Create(
            Registrations.Context(c.Path("model.safetensors"), baseDirectory: c.Folder),
            new LightningDiTOptions { Config = "model.yaml" });
        using var noGrad = torch.no_grad();
        using var v = denoiser.Forward(c["x"], c["t"], c["y"]);
        output.WriteLine($"max abs error {TensorAssert.Close(v, c["v"], what: "lightningdit v"):E2}");

        long parameters = denoiser.Module.parameters().Sum(p => p.numel());
        long buffers = denoiser.Module.buffers().Sum(b => b.numel());
        ((DiffusionTransformerDenoiser)denoiser).Spec.ParameterCount().Should().Be(parameters);
        (parameters + buffers).Should().Be(c.Get<long>("num_params"), "the kit counts parameters and buffers");
    }

    [ParityFact(Case)]
    public void Fresh_model_has_exactly_the_official_keys_and_tables()
    {
        using var c = ParityKit.Open(Case);
        var stored = WeightFiles.ReadStateDict(c.Path("model.safetensors"));
        var (spec, _) = DiffusionTransformerSpecBuilder.Build(Registrations.Context(baseDirectory: c.Folder),
            new LightningDiTOptions { Config = "model.yaml" });
        using var module = DiffusionTransformerDenoiser.CreateModule(spec);
        var fresh = module.state_dict();
        fresh.Keys.Should().BeEquivalentTo(stored.Keys);
        foreach (var key in new[] { "pos_embed", "feat_rope.freqs_cos", "feat_rope.freqs_sin" })
            TensorAssert.Close(fresh[key], stored[key], 1e-6, 1e-6, key);
        foreach (var tensor in stored.Values) tensor.Dispose();
    }
}
