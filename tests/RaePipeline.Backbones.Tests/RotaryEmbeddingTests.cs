using RaePipeline.Backbones.DiffusionTransformers;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Backbones.Tests;

/// <summary>
/// RoPE computed as a complex product (float32/float64) gives the official real-valued formula
/// x·cos + rotate_pairs(x)·sin, written out here as the reference writes it, on every layout the attention feeds it.
/// </summary>
public class RotaryEmbeddingTests
{
    const long Batch = 2, Heads = 3, HeadDim = 8, Grid = 3, Tokens = Grid * Grid;

    // the reference's rotate_pairs: (x₂ₖ, x₂ₖ₊₁) -> (−x₂ₖ₊₁, x₂ₖ)
    static Tensor Official(RotaryEmbedding2D rope, Tensor x)
    {
        var pairs = x.unflatten(x.dim() - 1, [HeadDim / 2, 2]);
        var rotated = torch.stack([-pairs.select(-1, 1), pairs.select(-1, 0)], dim: -1).flatten(-2);
        return x * rope.freqs_cos.to(x.dtype) + rotated * rope.freqs_sin.to(x.dtype);
    }

    // q and k as the attention takes them from a fused qkv output: (2, B, H, N, hd), strided
    static Tensor QkView(ScalarType dtype)
    {
        var qkv = torch.randn(Batch, Tokens, 3 * Heads * HeadDim, dtype: dtype);
        return qkv.view(Batch, Tokens, 3, Heads, HeadDim).permute(2, 0, 3, 1, 4)[TensorIndex.Slice(0, 2)];
    }

    [Theory]
    [InlineData(ScalarType.Float32, 1e-6)]
    [InlineData(ScalarType.Float64, 1e-14)]
    public void Strided_q_and_k_views_give_the_official_formula(ScalarType dtype, double tolerance)
    {
        using var rope = new RotaryEmbedding2D(HeadDim, Grid);
        using var scope = NewDisposeScope();
        manual_seed(5);
        var qk = QkView(dtype);
        qk.is_contiguous().Should().BeFalse("the test feeds the strided view the attention uses");
        var actual = rope.Apply(qk);
        actual.dtype.Should().Be(dtype);
        actual.shape.Should().Equal(qk.shape);
        TensorAssert.Close(actual, Official(rope, qk), tolerance, tolerance, "RoPE of a strided q/k view");
    }

    [Fact]
    public void A_layout_that_cannot_be_viewed_as_complex_gives_the_official_formula()
    {
        using var rope = new RotaryEmbedding2D(HeadDim, Grid);
        using var scope = NewDisposeScope();
        manual_seed(6);
        // an odd storage offset: the pairs straddle complex boundaries, so the layer copies first
        var x = torch.randn(Batch, Heads, Tokens, HeadDim + 1)[TensorIndex.Ellipsis, TensorIndex.Slice(1, HeadDim + 1)];
        TensorAssert.Close(rope.Apply(x), Official(rope, x), 1e-6, 1e-6, "RoPE of an odd-offset view");
    }

    [Fact]
    public void Gradients_equal_those_of_the_official_formula()
    {
        using var rope = new RotaryEmbedding2D(HeadDim, Grid);
        using var scope = NewDisposeScope();
        manual_seed(7);
        var weights = torch.randn([2, Batch, Heads, Tokens, HeadDim]);
        var leaf = torch.randn(Batch, Tokens, 3 * Heads * HeadDim, requires_grad: true);
        Tensor Qk() => leaf.view(Batch, Tokens, 3, Heads, HeadDim).permute(2, 0, 3, 1, 4)[TensorIndex.Slice(0, 2)];

        (rope.Apply(Qk()) * weights).sum().backward();
        var actual = leaf.grad!.clone();
        leaf.grad = null;
        (Official(rope, Qk()) * weights).sum().backward();
        TensorAssert.Close(actual, leaf.grad!, 1e-6, 1e-6, "gradient through RoPE");
        actual.abs().sum().item<float>().Should().BeGreaterThan(0);
    }
}
