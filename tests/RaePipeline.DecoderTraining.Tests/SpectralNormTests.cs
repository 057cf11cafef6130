using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.DecoderTraining.Tests;

public class SpectralNormTests
{
    static double TopSingularValue(Tensor weight) =>
        linalg.svdvals(weight.detach().reshape(weight.shape[0], -1).to(float64)).max().item<double>();

    [Fact]
    public void Power_iterations_in_training_bring_the_top_singular_value_to_one()
    {
        using var conv = new SpectralConv1d(24, 16, 9, circularPadding: true, new Generator(4));
        using var scope = NewDisposeScope();
        var state = conv.state_dict();
        state.Keys.Should().BeEquivalentTo(["weight_orig", "bias", "weight_u", "weight_v"]);
        TopSingularValue(state["weight_orig"]).Should().NotBeInRange(0.9, 1.1, "the raw weight must need normalizing");
        conv.train();
        var x = randn(2, 24, 20, generator: new Generator(5));
        using (no_grad())
            for (int i = 0; i < 60; i++) conv.call(x);
        TopSingularValue(conv.NormalizedWeight()).Should().BeApproximately(1.0, 1e-2);
    }

    [Fact]
    public void Eval_mode_leaves_the_vectors_alone_and_training_updates_them()
    {
        using var conv = new SpectralConv1d(8, 6, 1, circularPadding: false, new Generator(7));
        using var scope = NewDisposeScope();
        var u = conv.state_dict()["weight_u"].clone();
        conv.eval();
        conv.NormalizedWeight();
        conv.state_dict()["weight_u"].SameValues(u).Should().BeTrue();
        conv.train();
        conv.NormalizedWeight();
        (conv.state_dict()["weight_u"] - u).abs().max().item<float>().Should().BeGreaterThan(1e-4f);
    }

    [Fact]
    public void Circular_padding_keeps_the_length_and_wraps_around()
    {
        using var conv = new SpectralConv1d(1, 1, 3, circularPadding: true, new Generator(1));
        conv.eval();
        using var scope = NewDisposeScope();
        var x = arange(5, dtype: float32).view(1, 1, 5);
        var y = conv.call(x);
        y.shape.Should().Equal(1, 1, 5);
        // Output 0 sees inputs (4, 0, 1) because of the wrap.
        var w = conv.NormalizedWeight().view(3);
        var bias = conv.state_dict()["bias"].item<float>();
        float expected = w[0].item<float>() * 4 + w[1].item<float>() * 0 + w[2].item<float>() * 1 + bias;
        y[0, 0, 0].item<float>().Should().BeApproximately(expected, 1e-5f);
    }
}
