using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RaePipeline.Backbones.DiffusionTransformers;

/// <summary>
/// Time embedding (official <c>GaussianFourierEmbedding</c>): frozen frequencies <c>W</c> (256,) ~ N(0, 1), stored in
/// checkpoints; e = 2π·t·W, [sin e, cos e] (512) → <c>mlp</c> = Linear(512, D), SiLU, Linear(D, D).
/// t is fed as is (in [0, 1], no ×1000).
/// </summary>
public sealed class GaussianFourierEmbedding : nn.Module<Tensor, Tensor>
{
    public const int Frequencies = 256;

    public readonly Parameter W;
    public readonly Sequential mlp;

    public GaussianFourierEmbedding(long dim) : base(nameof(GaussianFourierEmbedding))
    {
        W = nn.Parameter(torch.randn(Frequencies), requires_grad: false);
        mlp = nn.Sequential(
            ("0", nn.Linear(2 * Frequencies, dim, hasBias: true)),
            ("1", nn.SiLU()),
            ("2", nn.Linear(dim, dim, hasBias: true)));
        RegisterComponents();
    }

    public IReadOnlyList<Linear> Linears => mlp.children().OfType<Linear>().ToList();

    public static long ParameterCount(long dim) => Frequencies + 2 * Frequencies * dim + dim + dim * dim + dim;

    // t: (B,) -> (B, D)
    public override Tensor forward(Tensor t)
    {
        using var scope = NewDisposeScope();
        var angles = (t.unsqueeze(1) * W.unsqueeze(0)).mul(2).mul(Math.PI);
        return mlp.forward(torch.cat([angles.sin(), angles.cos()], dim: -1)).MoveToOuterDisposeScope();
    }
}
