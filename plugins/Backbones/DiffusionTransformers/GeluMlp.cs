using RaePipeline.Abstractions;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace RaePipeline.Backbones.DiffusionTransformers;

/// <summary>
/// The plain feed-forward used when <c>use_swiglu</c> is off (timm <c>Mlp</c>): <c>fc1</c> → GELU (tanh
/// approximation) → <c>fc2</c>, hidden width int(mlp_ratio · D).
/// </summary>
public sealed class GeluMlp : nn.Module<Tensor, Tensor>
{
    public readonly Linear fc1;
    public readonly Linear fc2;

    public GeluMlp(long dim, long hidden) : base(nameof(GeluMlp))
    {
        fc1 = nn.Linear(dim, hidden, hasBias: true);
        fc2 = nn.Linear(hidden, dim, hasBias: true);
        RegisterComponents();
    }

    public static long HiddenWidth(long dim, double mlpRatio) => (long)(dim * mlpRatio);

    public static long ParameterCount(long dim, long hidden) => dim * hidden + hidden + hidden * dim + dim;

    // x: (B, N, D) -> (B, N, D)
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var hidden = F.gelu(ComputePrecision.Linear(fc1, x), TorchSharp.Modules.GELU.Approximate.tanh);
        return ComputePrecision.Linear(fc2, hidden).MoveToOuterDisposeScope();
    }
}
