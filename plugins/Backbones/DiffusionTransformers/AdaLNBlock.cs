using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RaePipeline.Backbones.DiffusionTransformers;

/// <summary>
/// The adaLN-Zero transformer block of LightningDiT and DiT^DH (official <c>LightningDiTBlock</c> /
/// <c>LightningDDTBlock</c>; identical keys): <c>norm1</c>, <c>attn</c>, <c>norm2</c>, <c>mlp</c> and
/// <c>adaLN_modulation</c> = Sequential(SiLU, Linear(D, 6D)) giving shift/scale/gate for attention and MLP
/// (4D without shifts when <c>wo_shift</c>). The condition is global (B, D) or per token (B, M, D) with N a multiple
/// of M (each condition token then covers N/M consecutive tokens).
/// </summary>
public sealed class AdaLNBlock : nn.Module
{
    readonly bool withoutShift;

    public readonly nn.Module<Tensor, Tensor> norm1;
    public readonly NormAttention attn;
    public readonly nn.Module<Tensor, Tensor> norm2;
    public readonly nn.Module<Tensor, Tensor> mlp;
    public readonly Sequential adaLN_modulation;

    public AdaLNBlock(long dim, long numHeads, double mlpRatio, DiffusionTransformerFlags flags) : base(nameof(AdaLNBlock))
    {
        withoutShift = flags.WoShift;
        norm1 = TokenNorm.Create(dim, flags.UseRmsNorm);
        attn = new NormAttention(dim, numHeads, flags.UseQkNorm, flags.UseRmsNorm);
        norm2 = TokenNorm.Create(dim, flags.UseRmsNorm);
        mlp = flags.UseSwiGlu
            ? new SwiGLUFFN(dim, SwiGLUFFN.HiddenWidth(dim, mlpRatio))
            : new GeluMlp(dim, GeluMlp.HiddenWidth(dim, mlpRatio));
        adaLN_modulation = nn.Sequential(
            ("0", nn.SiLU()),
            ("1", nn.Linear(dim, (flags.WoShift ? 4 : 6) * dim, hasBias: true)));
        RegisterComponents();
    }

    /// <summary>The last Linear of <c>adaLN_modulation</c> (zero-initialized in a fresh model).</summary>
    public Linear ModulationLinear => (Linear)adaLN_modulation.children().Last();

    public static long ParameterCount(long dim, long numHeads, double mlpRatio, DiffusionTransformerFlags flags)
    {
        long ffn = flags.UseSwiGlu
            ? SwiGLUFFN.ParameterCount(dim, SwiGLUFFN.HiddenWidth(dim, mlpRatio))
            : GeluMlp.ParameterCount(dim, GeluMlp.HiddenWidth(dim, mlpRatio));
        long modulation = (flags.WoShift ? 4 : 6) * dim;
        return 2 * TokenNorm.ParameterCount(dim, flags.UseRmsNorm)
               + NormAttention.ParameterCount(dim, numHeads, flags.UseQkNorm, flags.UseRmsNorm)
               + ffn + dim * modulation + modulation;
    }

    // x: (B, N, D), cond: (B, D) or (B, M, D) -> (B, N, D)
    public Tensor forward(Tensor x, Tensor cond, RotaryEmbedding2D? rope)
    {
        using var scope = NewDisposeScope();
        var modulation = Modulation.PerToken(Modulation.FromCondition(ModulationLinear, cond), x.shape[1]);
        var parts = modulation.chunk(withoutShift ? 4 : 6, dim: -1);
        Tensor? shiftAttn, scaleAttn, gateAttn, shiftMlp, scaleMlp, gateMlp;
        if (withoutShift)
        {
            (shiftAttn, scaleAttn, gateAttn) = (null, parts[0], parts[1]);
            (shiftMlp, scaleMlp, gateMlp) = (null, parts[2], parts[3]);
        }
        else
        {
            (shiftAttn, scaleAttn, gateAttn) = (parts[0], parts[1], parts[2]);
            (shiftMlp, scaleMlp, gateMlp) = (parts[3], parts[4], parts[5]);
        }
        // x stays float32 (the residual stream); the branches compute in the scope's precision
        var attended = attn.forward(Modulation.Apply(norm1.forward(x), shiftAttn, scaleAttn), rope);
        x = torch.addcmul(x, gateAttn, attended, 1);
        var fed = mlp.forward(Modulation.Apply(norm2.forward(x), shiftMlp, scaleMlp));
        return torch.addcmul(x, gateMlp, fed, 1).MoveToOuterDisposeScope();
    }
}
