using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.VisionTransformers;

/// <summary>Bicubic resizing as PyTorch's <c>F.interpolate(mode="bicubic", align_corners=False)</c>.</summary>
public static class ImageResize
{
    /// <summary>
    /// x: (B, C, H, W) -> (B, C, height, width). Without antialias: cubic a = −0.75 (RAE's encoder input resize, ViT-MAE
    /// and SigLIP position embeddings). With antialias: PIL-style a = −0.5 with a filter widened when downsampling
    /// (DINOv2 position embeddings). Computed in float32.
    /// </summary>
    public static Tensor Bicubic(Tensor x, long height, long width, bool antialias)
    {
        using var scope = NewDisposeScope();
        var input = x.dtype == float32 ? x : x.to(float32);
        var resized = nn.functional.interpolate(input, [height, width], mode: InterpolationMode.Bicubic,
            align_corners: false, antialias: antialias);
        return resized.to(x.dtype).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Resizes a square table of per-patch vectors: grid (1, G·G, D) -> (1, height·width, D), row-major tokens.
    /// </summary>
    public static Tensor PositionGrid(Tensor grid, long height, long width, bool antialias)
    {
        long tokens = grid.shape[1], dimension = grid.shape[2];
        long side = (long)Math.Round(Math.Sqrt(tokens));
        if (side * side != tokens)
            throw new ArgumentException($"position table of {tokens} rows is not a square grid");
        if (side == height && side == width) return grid.alias();
        using var scope = NewDisposeScope();
        var square = grid.reshape(1, side, side, dimension).permute(0, 3, 1, 2);
        var resized = Bicubic(square, height, width, antialias);
        return resized.permute(0, 2, 3, 1).reshape(1, height * width, dimension).MoveToOuterDisposeScope();
    }
}
