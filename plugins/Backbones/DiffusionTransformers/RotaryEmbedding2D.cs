using RaePipeline.Abstractions;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Backbones.DiffusionTransformers;

/// <summary>
/// EVA-style 2-D rotary position embedding (the official <c>VisionRotaryEmbeddingFast</c>, θ = 10000) for a
/// G×G token grid and attention heads of width <c>head_dim</c>. The tables <c>freqs_cos</c>/<c>freqs_sin</c>
/// (G², head_dim) are persistent buffers, so checkpoints carry them and loading takes them from the file; a fresh
/// model computes them. Row n = (i, j) of a table holds the row-index angles in its first half and the column-index
/// angles in its second half, each frequency repeated for an adjacent pair of channels.
/// </summary>
public sealed class RotaryEmbedding2D : nn.Module
{
    public readonly Tensor freqs_cos;
    public readonly Tensor freqs_sin;

    public RotaryEmbedding2D(long headDim, long grid, double theta = 10000.0) : base(nameof(RotaryEmbedding2D))
    {
        if (headDim % 4 != 0)
            throw new ArgumentException($"2-D RoPE needs a head width divisible by 4, got {headDim}");
        using (var scope = NewDisposeScope())
        {
            long half = headDim / 2;                                   // channels per axis
            // f_k = θ^(-2k/half), k < half/2, as float32 like the official constructor
            var exponents = torch.arange(0, half, 2, dtype: ScalarType.Int64)[TensorIndex.Slice(0, half / 2)]
                .to(ScalarType.Float32) / half;
            var frequencies = 1.0f / torch.pow(torch.tensor((float)theta), exponents);
            // positions arange(G) / G * G in float32 (not exactly integers, as in the official tables)
            var positions = torch.arange(grid, dtype: ScalarType.Int64).to(ScalarType.Float32) / grid * grid;
            var perAxis = torch.outer(positions, frequencies).repeat_interleave(2, dim: -1);      // (G, half)
            var rows = perAxis.unsqueeze(1).expand(grid, grid, half);
            var cols = perAxis.unsqueeze(0).expand(grid, grid, half);
            var table = torch.cat([rows, cols], dim: -1).reshape(grid * grid, headDim);
            freqs_cos = table.cos().MoveToOuterDisposeScope();
            freqs_sin = table.sin().MoveToOuterDisposeScope();
        }
        RegisterComponents();
    }

    /// <summary>
    /// x: (..., N, head_dim) -> x·cos + rotate_pairs(x)·sin, where rotate_pairs maps each adjacent pair
    /// (x₂ₖ, x₂ₖ₊₁) to (−x₂ₖ₊₁, x₂ₖ): per pair (x₂ₖ·c − x₂ₖ₊₁·s, x₂ₖ₊₁·c + x₂ₖ·s), a complex product. In float32 and
    /// float64 it is computed as one: the pairs viewed as complex numbers (no copy, also for the strided q/k views
    /// of a fused qkv output) times cos + i·sin, one pass over x (measured 6 ms against 50 ms for the real-valued
    /// form on the DDT head's q and k at batch 8). Reduced types, which have no complex counterpart on the CPU, use
    /// the real-valued form: flip within each pair times a sign-folded sine table.
    /// </summary>
    public Tensor Apply(Tensor x)
    {
        using var scope = NewDisposeScope();
        long headDim = x.shape[^1];
        var pairs = x.unflatten(x.dim() - 1, [headDim / 2, 2]);                 // (..., N, head_dim/2, 2)
        if (x.dtype is ScalarType.Float32 or ScalarType.Float64)
        {
            if (!ComplexViewable(pairs)) pairs = pairs.contiguous();
            // the tables repeat each angle for both channels of a pair: take the first of each
            var rotation = torch.complex(
                freqs_cos.unflatten(1, [headDim / 2, 2]).select(-1, 0).to(x.dtype),
                freqs_sin.unflatten(1, [headDim / 2, 2]).select(-1, 0).to(x.dtype));   // (N, head_dim/2)
            return torch.view_as_real(torch.view_as_complex(pairs) * rotation).flatten(-2).MoveToOuterDisposeScope();
        }
        var swapped = pairs.flip(-1).flatten(-2);                              // (x₂ₖ₊₁, x₂ₖ)
        // tables in the compute type (they are exact functions of the position; bf16 keeps 8 bits of them)
        var signedSin = ComputePrecision.Weight(freqs_sin).unflatten(1, [headDim / 2, 2])
            .mul(SignPattern(x.device, x.dtype)).flatten(-2);                   // (−sin, +sin) per pair
        return torch.addcmul(x * ComputePrecision.Weight(freqs_cos), swapped, signedSin, 1).MoveToOuterDisposeScope();
    }

    // view_as_complex needs the pair dimension dense and every other stride and the offset even
    static bool ComplexViewable(Tensor pairs)
    {
        var strides = pairs.stride();
        return strides[^1] == 1 && pairs.storage_offset() % 2 == 0 && strides[..^1].All(s => s % 2 == 0);
    }

    static Tensor SignPattern(Device device, ScalarType dtype) =>
        torch.tensor(new float[] { -1f, 1f }, device: device).to(dtype);
}
