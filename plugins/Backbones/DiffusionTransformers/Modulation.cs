using RaePipeline.Abstractions;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace RaePipeline.Backbones.DiffusionTransformers;

/// <summary>adaLN modulation helpers shared by the blocks and the final layers.</summary>
static class Modulation
{
    /// <summary>
    /// <c>adaLN_modulation</c> = Sequential(SiLU, Linear) applied to a condition (B, D) or (B, M, D), the Linear in the
    /// compute precision.
    /// </summary>
    public static Tensor FromCondition(TorchSharp.Modules.Linear linear, Tensor condition) =>
        ComputePrecision.Linear(linear, F.silu(condition));

    /// <summary>
    /// A modulation computed from a global condition (B, K) or a per-token one (B, M, K), shaped to broadcast over
    /// N tokens: (B, 1, K) or (B, N, K) (each of M condition tokens repeated N/M times, as the official DDT code does).
    /// </summary>
    public static Tensor PerToken(Tensor modulation, long tokens)
    {
        if (modulation.dim() == 2) return modulation.unsqueeze(1);
        long conditionTokens = modulation.shape[1];
        if (conditionTokens == tokens) return modulation;
        if (tokens % conditionTokens != 0)
            throw new ArgumentException(
                $"a per-token condition of {conditionTokens} tokens cannot modulate {tokens} tokens (not a multiple)");
        return modulation.repeat_interleave(tokens / conditionTokens, dim: 1);
    }

    /// <summary>x·(1 + scale) + shift (no shift when null); x: (B, N, D), shift/scale broadcastable.</summary>
    public static Tensor Apply(Tensor x, Tensor? shift, Tensor scale)
    {
        var factor = scale + 1;
        return shift is null ? x * factor : torch.addcmul(shift, x, factor, 1);
    }
}
