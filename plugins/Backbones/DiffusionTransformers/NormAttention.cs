using RaePipeline.Abstractions;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace RaePipeline.Backbones.DiffusionTransformers;

/// <summary>
/// Multi-head self-attention of LightningDiT / DiT^DH (the official <c>NormAttention</c>): fused <c>qkv</c>
/// projection with bias, optional per-head q/k normalization (<c>q_norm</c>, <c>k_norm</c>: RMSNorm, or LayerNorm
/// with affine when RMSNorm is off), 2-D RoPE on q and k, softmax(q kᵀ / √head_dim) v through the fused
/// scaled-dot-product kernel, and the output projection <c>proj</c>.
/// </summary>
public sealed class NormAttention : nn.Module
{
    readonly long numHeads;
    readonly long headDim;

    public readonly Linear qkv;
    public readonly nn.Module<Tensor, Tensor>? q_norm;
    public readonly nn.Module<Tensor, Tensor>? k_norm;
    public readonly Linear proj;

    public NormAttention(long dim, long numHeads, bool useQkNorm, bool useRmsNorm) : base(nameof(NormAttention))
    {
        if (dim % numHeads != 0)
            throw new ArgumentException($"attention width {dim} is not divisible by {numHeads} heads");
        this.numHeads = numHeads;
        headDim = dim / numHeads;
        qkv = nn.Linear(dim, 3 * dim, hasBias: true);
        if (useQkNorm)
        {
            q_norm = useRmsNorm ? new RMSNorm(headDim) : nn.LayerNorm(headDim);
            k_norm = useRmsNorm ? new RMSNorm(headDim) : nn.LayerNorm(headDim);
        }
        proj = nn.Linear(dim, dim, hasBias: true);
        RegisterComponents();
    }

    /// <summary>Learned parameters of one such attention (for the analytic count).</summary>
    public static long ParameterCount(long dim, long numHeads, bool useQkNorm, bool useRmsNorm)
    {
        long headDim = dim / numHeads;
        long norms = useQkNorm ? 2 * (useRmsNorm ? headDim : 2 * headDim) : 0;
        return dim * 3 * dim + 3 * dim + norms + dim * dim + dim;
    }

    // x: (B, N, D) -> (B, N, D)
    public Tensor forward(Tensor x, RotaryEmbedding2D? rope)
    {
        using var scope = NewDisposeScope();
        long batch = x.shape[0], tokens = x.shape[1], dim = x.shape[2];
        // (B, N, 3D) -> (3, B, H, N, hd) as a view
        var heads = ComputePrecision.Linear(qkv, x).view(batch, tokens, 3, numHeads, headDim).permute(2, 0, 3, 1, 4);
        Tensor q = heads[0], k = heads[1], v = heads[2];
        if (q_norm is not null) q = q_norm.forward(q);
        if (k_norm is not null) k = k_norm.forward(k);
        if (rope is not null)
        {
            if (q_norm is null)
            {
                // one RoPE pass over q and k together: (2, B, H, N, hd)
                var qk = rope.Apply(heads[TensorIndex.Slice(0, 2)]);
                q = qk[0];
                k = qk[1];
            }
            else
            {
                q = rope.Apply(q);
                k = rope.Apply(k);
            }
        }
        var attended = F.scaled_dot_product_attention(q, k, v);               // (B, H, N, hd), softmax accumulated in float32
        var merged = attended.transpose(1, 2).reshape(batch, tokens, dim);
        return ComputePrecision.Linear(proj, merged).MoveToOuterDisposeScope();
    }
}
