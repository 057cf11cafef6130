using RaePipeline.Abstractions;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace RaePipeline.Backbones.DiffusionTransformers;

/// <summary>
/// SwiGLU feed-forward (the official <c>SwiGLUFFN</c>): <c>w12</c> = Linear(D, 2h), (a, b) = chunk, <c>w3</c>(silu(a)·b).
/// The blocks use h = int(2/3 · int(mlp_ratio · D)) (384→1024, 768→2048, 1152→3072, 2048→5461 at ratio 4).
/// </summary>
public sealed class SwiGLUFFN : nn.Module<Tensor, Tensor>
{
    public readonly Linear w12;
    public readonly Linear w3;

    public SwiGLUFFN(long dim, long hidden) : base(nameof(SwiGLUFFN))
    {
        w12 = nn.Linear(dim, 2 * hidden, hasBias: true);
        w3 = nn.Linear(hidden, dim, hasBias: true);
        RegisterComponents();
    }

    /// <summary>Hidden width of the blocks' SwiGLU: int(2/3 · int(mlp_ratio · D)), as the official code truncates.</summary>
    public static long HiddenWidth(long dim, double mlpRatio) => (long)(2.0 / 3.0 * (long)(dim * mlpRatio));

    public static long ParameterCount(long dim, long hidden) => dim * 2 * hidden + 2 * hidden + hidden * dim + dim;

    // x: (B, N, D) -> (B, N, D)
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var ab = ComputePrecision.Linear(w12, x).chunk(2, dim: -1);
        return ComputePrecision.Linear(w3, F.silu(ab[0]) * ab[1]).MoveToOuterDisposeScope();
    }
}
