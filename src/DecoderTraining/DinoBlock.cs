using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RaePipeline.DecoderTraining;

/// <summary>Pre-LN ViT block: x + attn(norm1(x)), then x + mlp(norm2(x)).</summary>
public sealed class DinoBlock : nn.Module<Tensor, Tensor>
{
    readonly LayerNorm norm1;
    readonly DinoAttention attn;
    readonly LayerNorm norm2;
    readonly DinoMlp mlp;

    public DinoBlock(int dim, int heads, int hidden, double eps, Generator? generator) : base(nameof(DinoBlock))
    {
        norm1 = nn.LayerNorm(dim, eps: eps);
        attn = new DinoAttention(dim, heads, generator);
        norm2 = nn.LayerNorm(dim, eps: eps);
        mlp = new DinoMlp(dim, hidden, generator);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = x + attn.call(norm1.call(x));
        return (h + mlp.call(norm2.call(h))).MoveToOuterDisposeScope();
    }
}
