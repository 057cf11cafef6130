using RaePipeline.Abstractions;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RaePipeline.Backbones.DiffusionTransformers;

/// <summary>
/// Root-mean-square normalization over the last dimension: x · rsqrt(mean(x²) + eps), computed in float32 and cast
/// back to the input's dtype (to the compute type inside a reduced-precision scope: the next step is a matmul), then
/// scaled by a learned <c>weight</c> (key <c>weight</c>).
/// </summary>
public sealed class RMSNorm : nn.Module<Tensor, Tensor>
{
    readonly double eps;

    public readonly Parameter weight;

    public RMSNorm(long dim, double eps = 1e-6) : base(nameof(RMSNorm))
    {
        this.eps = eps;
        weight = nn.Parameter(torch.ones(dim));
        RegisterComponents();
    }

    // x: (..., dim) -> (..., dim)
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var xf = x.dtype == ScalarType.Float32 ? x : x.to(ScalarType.Float32);
        var normalized = xf * torch.rsqrt(xf.square().mean([-1], keepdim: true).add_(eps));
        var type = ComputePrecision.IsReduced ? ComputePrecision.ComputeType : x.dtype;
        if (normalized.dtype != type) normalized = normalized.to(type);
        return (normalized * ComputePrecision.Weight(weight)).MoveToOuterDisposeScope();
    }
}
