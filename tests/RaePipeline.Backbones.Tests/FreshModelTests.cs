using RaePipeline.Abstractions;
using RaePipeline.Backbones.DiffusionTransformers;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Backbones.Tests;

public class FreshModelTests
{
    static readonly LatentShape Latent = new(12, 4, 4);

    static IDenoiser Fresh(long seed) => Registrations.DiTDH.Create(Registrations.Context(latent: Latent, seed: seed),
        new DiTDHOptions { HiddenSize = [16, 24], Depth = [2, 1], NumHeads = [2, 3], NumClasses = 5 });

    [Fact]
    public void Fresh_model_is_initialized_like_the_official_code()
    {
        using var denoiser = Fresh(seed: 3);
        var model = (DiTwDDTHead)denoiser.Module;
        model.final_layer.linear.weight!.count_nonzero().item<long>().Should().Be(0);
        model.final_layer.ModulationLinear.weight!.count_nonzero().item<long>().Should().Be(0);
        foreach (var block in model.blocks)
            block.ModulationLinear.weight!.count_nonzero().item<long>().Should().Be(0, "adaLN-Zero");
        model.x_embedder.proj.bias!.count_nonzero().item<long>().Should().Be(0);
        double tableStd = model.y_embedder.embedding_table.weight!.std().item<float>();
        tableStd.Should().BeInRange(0.015, 0.025, "label table ~ N(0, 0.02)");
        model.t_embedder.W.requires_grad.Should().BeFalse("the Fourier frequencies are frozen");
        model.pos_embed!.requires_grad.Should().BeFalse();
        // with a zero final layer the untrained velocity is exactly zero
        using var noGrad = torch.no_grad();
        using var v = denoiser.Forward(torch.randn(2, 12, 4, 4), torch.tensor(new[] { 0.1f, 0.9f }), torch.tensor(new long[] { 0, 5 }));
        v.count_nonzero().item<long>().Should().Be(0);
    }

    [Fact]
    public void Initialization_depends_only_on_the_seed()
    {
        using var a = Fresh(seed: 3);
        using var b = Fresh(seed: 3);
        using var c = Fresh(seed: 4);
        var (sa, sb, sc) = (a.Module.state_dict(), b.Module.state_dict(), c.Module.state_dict());
        foreach (var key in sa.Keys) sa[key].SameValues(sb[key]).Should().BeTrue(key);
        sa["s_projector.weight"].SameValues(sc["s_projector.weight"]).Should().BeFalse();
    }

    [Fact]
    public void Patch_embedding_of_patch_1_equals_the_convolution()
    {
        using var embed = new PatchEmbed(12, 16, 1);
        using var x = torch.randn(2, 12, 4, 4);
        using var noGrad = torch.no_grad();
        using var viaLinear = embed.forward(x);
        using var viaConvolution = embed.proj.forward(x).flatten(2).transpose(1, 2);
        TensorAssert.Close(viaLinear, viaConvolution, 1e-5, 1e-5, "patch embedding");
    }

    [Fact]
    public void Patch_2_model_maps_latents_to_latents_and_trains()
    {
        var spec = ParameterCountTests.SmallSpec(DiffusionTransformerKind.DiTDH, DiffusionTransformerFlags.Released, patchSize: 2);
        using var module = new DiTwDDTHead(spec);
        using var generator = new Generator(5, torch.CPU);
        using (torch.no_grad())
            foreach (var p in module.parameters()) p.normal_(0, 0.2, generator);
        using var scope = NewDisposeScope();
        var x = torch.randn(3, 12, 4, 4);
        var v = module.forward(x, torch.rand(3), torch.tensor(new long[] { 0, 2, 5 }));
        v.shape.Should().Equal(3, 12, 4, 4);
        v.square().mean().backward();
        module.blocks[0].attn.qkv.weight!.grad.Should().NotBeNull();
        module.pos_embed!.grad.Should().BeNull("frozen");
    }
}
