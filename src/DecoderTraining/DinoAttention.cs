using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RaePipeline.DecoderTraining;

/// <summary>Multi-head self-attention with a fused <c>qkv</c> projection and <c>proj</c>, scale 1/sqrt(head dim).</summary>
public sealed class DinoAttention : nn.Module<Tensor, Tensor>
{
    readonly Linear qkv;
    readonly Linear proj;
    readonly int heads;

    public DinoAttention(int dim, int heads, Generator? generator) : base(nameof(DinoAttention))
    {
        this.heads = heads;
        qkv = DinoInitialization.Linear(dim, 3 * dim, generator);
        proj = DinoInitialization.Linear(dim, dim, generator);
        RegisterComponents();
    }

    /// <summary>x: (B, L, D) -> (B, L, D).</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        long batch = x.shape[0], length = x.shape[1], dim = x.shape[2];
        var parts = qkv.call(x).view(batch, length, 3, heads, dim / heads).permute(2, 0, 3, 1, 4);
        var attended = nn.functional.scaled_dot_product_attention(parts[0], parts[1], parts[2]);
        return proj.call(attended.transpose(1, 2).reshape(batch, length, dim)).MoveToOuterDisposeScope();
    }
}
