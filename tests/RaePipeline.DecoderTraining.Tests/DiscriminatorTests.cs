using RaePipeline.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.DecoderTraining.Tests;

public class DiscriminatorTests
{
    static DinoFeatureNetworkOptions Tiny => new()
    {
        EmbedDim = 32, Depth = 4, NumHeads = 2, PatchSize = 4, InputSize = 16, KeyDepths = [1, 3, 8],
    };

    [Fact]
    public void Batch_norm_local_standardizes_each_sample_and_channel_over_tokens()
    {
        using var norm = new BatchNormLocal(5);
        using var scope = NewDisposeScope();
        var x = randn(3, 5, 50, generator: new Generator(9)) * 4 + 2;
        var y = norm.call(x);
        y.mean([2]).abs().max().item<float>().Should().BeLessThan(1e-5f);
        y.var(2, unbiased: false).sub(1).abs().max().item<float>().Should().BeLessThan(1e-4f);
        norm.state_dict().Keys.Should().BeEquivalentTo(["weight", "bias"]);
    }

    [Fact]
    public void Gives_one_logit_per_token_of_every_feature_map_with_reference_keys()
    {
        var options = Tiny;
        using var features = new DinoFeatureNetwork(options, new Generator(3));
        using var discriminator = new DinoDiscriminator(features, kernelSize: 9, generator: new Generator(4));
        using var scope = NewDisposeScope();
        // Key depths 1 and 3 exist (8 is past the depth): 3 feature maps of (16/4)^2 = 16 tokens.
        features.FeatureCount.Should().Be(3);
        var logits = discriminator.call(rand([2, 3, 24, 24], generator: new Generator(5)) * 2 - 1);
        logits.shape.Should().Equal(2, 3 * 16);
        var keys = discriminator.state_dict().Keys.ToList();
        keys.Should().Contain(["heads.0.0.0.weight_orig", "heads.0.0.0.weight_u", "heads.0.0.1.weight",
            "heads.2.1.fn.0.weight_orig", "heads.2.1.fn.1.bias", "heads.1.2.weight_orig", "heads.1.2.weight_v"]);
        keys.Should().NotContain(k => k.Contains("blocks") || k.Contains("pos_embed"));
        discriminator.state_dict()["heads.0.1.fn.0.weight_orig"].shape.Should().Equal(32, 32, 9);
    }

    [Fact]
    public void Feature_network_reads_timm_keys_and_zeroes_the_key_bias()
    {
        using var folder = new TemporaryFolder();
        var options = Tiny;
        using var source = new DinoFeatureNetwork(options, new Generator(8));
        var state = source.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        foreach (var key in state.Keys.Where(k => k.EndsWith("qkv.bias")).ToList())
            state[key] = randn(state[key].shape, generator: new Generator(1));
        state.Keys.Should().Contain(["patch_embed.proj.weight", "cls_token", "pos_embed", "blocks.0.attn.qkv.weight",
            "blocks.3.mlp.fc2.bias", "blocks.2.norm2.weight", "norm.weight"]);
        var path = folder.Combine("dino.safetensors");
        SafeTensorsFile.Write(path, state);

        using var loaded = DinoFeatureNetwork.Load(path, options);
        var bias = loaded.state_dict()["blocks.2.attn.qkv.bias"];
        var original = state["blocks.2.attn.qkv.bias"];
        bias[TensorIndex.Slice(32, 64)].abs().max().item<float>().Should().Be(0);
        bias[TensorIndex.Slice(0, 32)].SameValues(original[TensorIndex.Slice(0, 32)]).Should().BeTrue();
        bias[TensorIndex.Slice(64, 96)].SameValues(original[TensorIndex.Slice(64, 96)]).Should().BeTrue();
        loaded.state_dict()["pos_embed"].SameValues(state["pos_embed"]).Should().BeTrue();
        loaded.parameters().Should().OnlyContain(p => !p.requires_grad);

        // The key bias only shifts every score of a query by a constant, so zeroing it leaves the features unchanged.
        using var scope = NewDisposeScope();
        using var unchanged = new DinoFeatureNetwork(options);
        StateDictLoader.Load(unchanged, state, "test");
        var x = rand([1, 3, 16, 16], generator: new Generator(2)) * 2 - 1;
        using var noGrad = no_grad();
        TensorAssert.Close(loaded.call(x)[0], unchanged.call(x)[0], 1e-4, 1e-4, "features with zeroed key bias");
    }

    [Fact]
    public void Missing_or_unfit_dino_weights_are_refused_with_the_file_named()
    {
        using var folder = new TemporaryFolder();
        var missing = folder.Combine("dino_vit_small_patch8_224.pth");
        FluentActions.Invoking(() => DinoFeatureNetwork.Load(missing, Tiny)).Should().Throw<WeightsFormatException>()
            .Where(e => e.Message.Contains(missing) && e.Message.Contains("random"));
        using var other = new DinoFeatureNetwork(new DinoFeatureNetworkOptions
        {
            EmbedDim = 16, Depth = 4, NumHeads = 2, PatchSize = 4, InputSize = 16,
        });
        var path = folder.Combine("small.safetensors");
        SafeTensorsFile.Write(path, other.state_dict());
        FluentActions.Invoking(() => DinoFeatureNetwork.Load(path, Tiny)).Should().Throw<WeightsFormatException>()
            .Where(e => e.Message.Contains(path) && e.Message.Contains("cls_token: expected [1, 1, 32], found [1, 1, 16]"));
    }
}
