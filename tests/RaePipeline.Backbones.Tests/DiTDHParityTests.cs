using RaePipeline.Abstractions;
using RaePipeline.Backbones.DiffusionTransformers;
using RaePipeline.Weights;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace RaePipeline.Backbones.Tests;

[Trait("Category", "Parity")]
public class DiTDHParityTests(ITestOutputHelper output)
{
    const string Case = "ditdh";

    static IDenoiser Build(string? weights, string entry = "ema")
    {
        var folder = ParityKit.CaseFolder(Case);
        return Registrations.DiTDH.Create(Registrations.Context(weights, baseDirectory: folder),
            new DiTDHOptions { Config = "model.yaml", CheckpointEntry = entry });
    }

    static Tensor Velocity(IDenoiser denoiser, ParityCase c)
    {
        using var noGrad = torch.no_grad();
        return denoiser.Forward(c["x"], c["t"], c["y"]);
    }

    [ParityFact(Case)]
    public void Velocity_matches_with_ema_weights_from_model_safetensors()
    {
        using var c = ParityKit.Open(Case);
        using var denoiser = Build(c.Path("model.safetensors"));
        using var v = Velocity(denoiser, c);
        output.WriteLine($"max abs error {TensorAssert.Close(v, c["v"], what: "ditdh v (model.safetensors)"):E2}");
    }

    [ParityFact(Case)]
    public void Velocity_matches_with_the_ema_entry_of_the_training_checkpoint_named_by_the_config()
    {
        using var c = ParityKit.Open(Case);
        using var denoiser = Build(weights: null);                 // model.yaml's ckpt: checkpoint.pt, entry ema
        using var v = Velocity(denoiser, c);
        output.WriteLine($"max abs error {TensorAssert.Close(v, c["v"], what: "ditdh v (checkpoint.pt ema)"):E2}");
    }

    [ParityFact(Case)]
    public void Loading_the_model_entry_instead_of_ema_differs_by_the_kits_amount()
    {
        using var c = ParityKit.Open(Case);
        using var denoiser = Build(c.Path("checkpoint.pt"), entry: "model");
        using var v = Velocity(denoiser, c);
        double difference = (v - c["v"]).abs().max().item<float>();
        double expected = c.Get<double>("max_abs_diff_if_model_instead_of_ema");
        output.WriteLine($"model-entry difference {difference:F5}, kit {expected}");
        difference.Should().BeApproximately(expected, 1e-3 * expected + 1e-4,
            "case.json gives the output difference the 'model' weights make");
    }

    [ParityFact(Case)]
    public void Spec_from_model_yaml_has_the_kits_sizes_and_parameter_count()
    {
        using var c = ParityKit.Open(Case);
        using var denoiser = Build(c.Path("model.safetensors"));
        var spec = ((DiffusionTransformerDenoiser)denoiser).Spec;
        spec.Backbone.Should().Be(new TransformerSize(c.GetArray<int>("params/hidden_size")[0],
            c.GetArray<int>("params/depth")[0], c.GetArray<int>("params/num_heads")[0]));
        spec.Head.Should().Be(new TransformerSize(c.GetArray<int>("params/hidden_size")[1],
            c.GetArray<int>("params/depth")[1], c.GetArray<int>("params/num_heads")[1]));
        denoiser.NumClasses.Should().Be(c.Get<int>("params/num_classes"));
        denoiser.LatentShape.Should().Be(new LatentShape(c.Get<int>("params/in_channels"),
            c.Get<int>("params/input_size"), c.Get<int>("params/input_size")));
        long parameters = denoiser.Module.parameters().Sum(p => p.numel());
        long buffers = denoiser.Module.buffers().Sum(b => b.numel());
        spec.ParameterCount().Should().Be(parameters);
        (parameters + buffers).Should().Be(c.Get<long>("num_params"), "the kit counts parameters and buffers");
    }

    [ParityFact(Case)]
    public void Fresh_rope_and_position_tables_equal_the_stored_ones()
    {
        using var c = ParityKit.Open(Case);
        var stored = WeightFiles.ReadStateDict(c.Path("model.safetensors"));
        var (spec, _) = DiffusionTransformerSpecBuilder.Build(Registrations.Context(baseDirectory: c.Folder),
            new DiTDHOptions { Config = "model.yaml" });
        using var module = DiffusionTransformerDenoiser.CreateModule(spec);
        var fresh = module.state_dict();
        fresh.Keys.Should().BeEquivalentTo(stored.Keys, "a fresh model has exactly the official keys");
        foreach (var key in new[] { "pos_embed", "enc_feat_rope.freqs_cos", "enc_feat_rope.freqs_sin",
                     "dec_feat_rope.freqs_cos", "dec_feat_rope.freqs_sin" })
            TensorAssert.Close(fresh[key], stored[key], 1e-6, 1e-6, key);
        foreach (var tensor in stored.Values) tensor.Dispose();
    }
}
