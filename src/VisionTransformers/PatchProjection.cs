using RaePipeline.Abstractions;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RaePipeline.VisionTransformers;

/// <summary>The patch embedding of a ViT: a Conv2d whose kernel and stride are the patch size, in the compute precision.</summary>
public static class PatchProjection
{
    // pixels: (B, C, H, W) -> (B, D, H/p, W/p); at fp32 exactly projection.forward(pixels)
    public static Tensor Apply(Conv2d projection, Tensor pixels, long patchSize) =>
        ComputePrecision.IsReduced
            ? nn.functional.conv2d(ComputePrecision.Input(pixels), ComputePrecision.Weight(projection.weight!),
                projection.bias is null ? null : ComputePrecision.Weight(projection.bias), strides: [patchSize, patchSize])
            : projection.forward(pixels);
}
