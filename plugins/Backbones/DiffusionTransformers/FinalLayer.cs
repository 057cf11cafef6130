using RaePipeline.Abstractions;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RaePipeline.Backbones.DiffusionTransformers;

/// <summary>
/// Output layer (official <c>LightningFinalLayer</c> / <c>DDTFinalLayer</c>): <c>norm_final</c>, modulation from
/// <c>adaLN_modulation</c> = Sequential(SiLU, Linear(D, 2D)) (shift, scale; no gate), then <c>linear</c> to
/// p·p·C_out values per token.
/// </summary>
public sealed class FinalLayer : nn.Module
{
    public readonly nn.Module<Tensor, Tensor> norm_final;
    public readonly Linear linear;
    public readonly Sequential adaLN_modulation;

    public FinalLayer(long dim, long outputsPerToken, bool useRmsNorm) : base(nameof(FinalLayer))
    {
        norm_final = TokenNorm.Create(dim, useRmsNorm);
        linear = nn.Linear(dim, outputsPerToken, hasBias: true);
        adaLN_modulation = nn.Sequential(("0", nn.SiLU()), ("1", nn.Linear(dim, 2 * dim, hasBias: true)));
        RegisterComponents();
    }

    public Linear ModulationLinear => (Linear)adaLN_modulation.children().Last();

    public static long ParameterCount(long dim, long outputsPerToken, bool useRmsNorm) =>
        TokenNorm.ParameterCount(dim, useRmsNorm) + dim * outputsPerToken + outputsPerToken + dim * 2 * dim + 2 * dim;

    // x: (B, N, D), cond: (B, D) or (B, M, D) -> (B, N, outputsPerToken)
    public Tensor forward(Tensor x, Tensor cond)
    {
        using var scope = NewDisposeScope();
        var parts = Modulation.PerToken(Modulation.FromCondition(ModulationLinear, cond), x.shape[1]).chunk(2, dim: -1);
        return ComputePrecision.Linear(linear, Modulation.Apply(norm_final.forward(x), parts[0], parts[1])).MoveToOuterDisposeScope();
    }
}
