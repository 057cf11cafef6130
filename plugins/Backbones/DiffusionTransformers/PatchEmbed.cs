using RaePipeline.VisionTransformers;
using RaePipeline.Abstractions;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RaePipeline.Backbones.DiffusionTransformers;

/// <summary>
/// timm <c>PatchEmbed</c>: a p×p stride-p convolution <c>proj</c> (keys <c>proj.weight</c> (D, C, p, p),
/// <c>proj.bias</c>), flattened to tokens in raster order. With p = 1 (every released model) it is a per-token
/// Linear, computed as one.
/// </summary>
public sealed class PatchEmbed : nn.Module<Tensor, Tensor>
{
    readonly long patchSize;

    public readonly Conv2d proj;

    public PatchEmbed(long inChannels, long dim, long patchSize) : base(nameof(PatchEmbed))
    {
        this.patchSize = patchSize;
        proj = nn.Conv2d(inChannels, dim, kernel_size: patchSize, stride: patchSize, bias: true);
        RegisterComponents();
    }

    public static long ParameterCount(long inChannels, long dim, long patchSize) =>
        inChannels * patchSize * patchSize * dim + dim;

    // x: (B, C, H, W) -> (B, H/p · W/p, D)
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var tokens = patchSize == 1
            ? ComputePrecision.Linear(x.flatten(2).transpose(1, 2), ComputePrecision.Weight(proj.weight!).flatten(1), proj.bias)
            : PatchProjection.Apply(proj, x, patchSize).flatten(2).transpose(1, 2);
        return tokens.MoveToOuterDisposeScope();
    }
}
