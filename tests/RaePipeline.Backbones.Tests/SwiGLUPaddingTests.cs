using RaePipeline.Abstractions;
using RaePipeline.Backbones.DiffusionTransformers;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace RaePipeline.Backbones.Tests;

/// <summary>
/// A ragged SwiGLU hidden width (the DDT head's 5461) is computed on aligned rows (without gradients) or padded (with
/// them); results and gradients are unchanged.
/// </summary>
public class SwiGLUPaddingTests
{
    [Fact]
    public void A_ragged_hidden_width_is_padded_without_changing_output_or_gradients()
    {
        const long dim = 48, hidden = 1100;
        SwiGLUFFN.ComputedWidth(hidden).Should().Be(1152).And.Subject.Should().BeGreaterThan(hidden);
        SwiGLUFFN.ComputedWidth(1024).Should().Be(1024, "aligned widths are used as they are");
        SwiGLUFFN.ComputedWidth(85).Should().Be(85, "small widths are not worth padding");
        using var ffn = new SwiGLUFFN(dim, hidden);
        using var scope = NewDisposeScope();
        manual_seed(3);
        var x = randn(2, 5, dim);
        Tensor Reference()
        {
            var ab = F.linear(x, ffn.w12.weight!, ffn.w12.bias).chunk(2, dim: -1);
            return F.linear(F.silu(ab[0]) * ab[1], ffn.w3.weight!, ffn.w3.bias);
        }
        var expected = Reference();
        expected.sum().backward();
        var expectedGrads = ffn.parameters().Select(p => p.grad!.clone()).ToList();
        foreach (var p in ffn.parameters()) p.grad = null;

        var actual = ffn.forward(x);
        actual.sum().backward();
        TensorAssert.Close(actual, expected, 1e-5, 1e-6, "padded SwiGLU output");
        foreach (var (p, g) in ffn.parameters().Zip(expectedGrads))
        {
            p.grad!.shape.Should().Equal(p.shape, "gradients keep the official shapes");
            TensorAssert.Close(p.grad, g, 1e-5, 1e-6, "padded SwiGLU gradient");
        }
    }

    [Fact]
    public void Without_gradients_a_ragged_hidden_width_gives_the_plain_result()
    {
        const long dim = 48, hidden = 1100;
        using var ffn = new SwiGLUFFN(dim, hidden);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        manual_seed(4);
        var x = randn(3, 7, dim);
        var ab = F.linear(x, ffn.w12.weight!, ffn.w12.bias).chunk(2, dim: -1);
        var expected = F.linear(F.silu(ab[0]) * ab[1], ffn.w3.weight!, ffn.w3.bias);
        var actual = ffn.forward(x);
        actual.shape.Should().Equal(3, 7, dim);
        TensorAssert.Close(actual, expected, 1e-5, 1e-6, "SwiGLU output computed on aligned rows");
        using (ComputePrecision.Use(Precision.Bf16, cacheWeights: true))
        {
            var reduced = ffn.forward(x);
            reduced.dtype.Should().Be(ScalarType.BFloat16);
            TensorAssert.Close(reduced.to(ScalarType.Float32), expected, 0.05, 0.05, "bf16 SwiGLU output on aligned rows");
        }
    }
}
