using RaePipeline.Abstractions;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace RaePipeline.Backbones.DiffusionTransformers;

/// <summary>
/// SwiGLU feed-forward (the official <c>SwiGLUFFN</c>): <c>w12</c> = Linear(D, 2h), (a, b) = chunk, <c>w3</c>(silu(a)·b).
/// The blocks use h = int(2/3 · int(mlp_ratio · D)) (384→1024, 768→2048, 1152→3072, 2048→5461 at ratio 4).
/// MKL's float32 GEMM runs far slower when the rows of its output are not aligned (measured 53 against 75 GFLOP/s
/// for 2048x2048 -> 10922 vs 11008 on an AMD EPYC), so a large h that is not a multiple of <see cref="Alignment"/>
/// (the DDT head's 5461) is not computed as it is. Without gradients (inference) <c>w12</c> writes into rows of an
/// aligned stride; with gradients the hidden units are padded with zero ones (silu(0)·0 = 0, meeting zero columns of
/// w3), which costs a copy of both weights per call but keeps the step one differentiable graph. Either way the result
/// is the same up to summation order and the parameters keep the official shapes.
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

    /// <summary>Hidden widths are padded to a multiple of this (when at least <see cref="MinimumPaddedWidth"/>).</summary>
    public const long Alignment = 64;

    const long MinimumPaddedWidth = 1024;

    /// <summary>The hidden width the GEMMs run at: <paramref name="hidden"/>, or rounded up to the alignment.</summary>
    public static long ComputedWidth(long hidden) =>
        hidden >= MinimumPaddedWidth ? (hidden + Alignment - 1) / Alignment * Alignment : hidden;

    // x: (B, N, D) -> (B, N, D)
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        long hidden = w3.weight!.shape[1];
        long padding = ComputedWidth(hidden) - hidden;
        if (padding == 0)
        {
            var ab = ComputePrecision.Linear(w12, x).chunk(2, dim: -1);
            return ComputePrecision.Linear(F.silu(ab[0]) * ab[1], w3.weight, w3.bias).MoveToOuterDisposeScope();
        }
        if (!is_grad_enabled())
        {
            var ab = LinearIntoAlignedRows(x, w12.weight!, w12.bias).chunk(2, dim: -1);
            return ComputePrecision.Linear(F.silu(ab[0]).mul_(ab[1]), w3.weight, w3.bias).MoveToOuterDisposeScope();
        }
        // (2h, D) -> (2, h, D) -> (2, h + p, D) -> (2(h + p), D): zero units at the end of each half
        long dim = w12.weight!.shape[1];
        var weight = F.pad(ComputePrecision.Weight(w12.weight).view(2, hidden, dim), [0, 0, 0, padding]).view(-1, dim);
        var bias = w12.bias is null ? null : F.pad(ComputePrecision.Weight(w12.bias).view(2, hidden), [0, padding]).view(-1);
        var padded = ComputePrecision.Linear(x, weight, bias).chunk(2, dim: -1);
        var outputWeight = F.pad(ComputePrecision.Weight(w3.weight), [0, padding]);
        return ComputePrecision.Linear(F.silu(padded[0]) * padded[1], outputWeight, w3.bias).MoveToOuterDisposeScope();
    }

    // x (..., D) -> x Wᵀ + b (..., out) in the compute type, as a view into rows whose stride is a multiple of the
    // alignment (bias first, then the GEMM accumulates onto it, as addmm does)
    static Tensor LinearIntoAlignedRows(Tensor x, Tensor weight, Tensor? bias)
    {
        var input = ComputePrecision.Input(x);
        var w = ComputePrecision.Weight(weight);
        var rows = input.reshape(-1, input.shape[^1]);
        long outputs = w.shape[0];
        var result = torch.empty([rows.shape[0], ComputedWidth(outputs)], dtype: w.dtype, device: w.device).narrow(1, 0, outputs);
        if (bias is null) result.zero_();
        else result.copy_(ComputePrecision.Weight(bias).expand(result.shape));
        result.addmm_(rows, w.t(), 1, 1);
        return result.unflatten(0, input.shape[..^1]);
    }
}
