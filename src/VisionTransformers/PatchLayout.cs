using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.VisionTransformers;

/// <summary>Conversions between token sequences, 2-D latent grids and patch-vector images.</summary>
public static class PatchLayout
{
    /// <summary>tokens (B, N, C) with N = h·w, token n = row·w + col -> (B, C, h, w) (RAE <c>z.transpose(1,2).view</c>).</summary>
    public static Tensor TokensToGrid(Tensor tokens, long height, long width)
    {
        long b = tokens.shape[0], n = tokens.shape[1], c = tokens.shape[2];
        if (n != height * width)
            throw new ArgumentException($"{n} tokens do not form a {height}x{width} grid");
        return tokens.transpose(1, 2).reshape(b, c, height, width);
    }

    /// <summary>grid (B, C, h, w) -> tokens (B, h·w, C).</summary>
    public static Tensor GridToTokens(Tensor grid)
    {
        long b = grid.shape[0], c = grid.shape[1];
        return grid.reshape(b, c, -1).transpose(1, 2);
    }

    /// <summary>
    /// patches (B, h·w, P·P·channels), each vector ordered (row-in-patch, col-in-patch, channel) ->
    /// images (B, channels, h·P, w·P) (MAE <c>einsum('nhwpqc->nchpwq')</c>).
    /// </summary>
    public static Tensor Unpatchify(Tensor patches, long height, long width, long patchSize, long channels = 3)
    {
        long b = patches.shape[0];
        if (patches.shape[1] != height * width || patches.shape[2] != patchSize * patchSize * channels)
            throw new ArgumentException(
                $"patches of shape [{string.Join(", ", patches.shape)}] do not fit a {height}x{width} grid of {patchSize}x{patchSize}x{channels} patches");
        return patches.reshape(b, height, width, patchSize, patchSize, channels)
            .permute(0, 5, 1, 3, 2, 4)
            .reshape(b, channels, height * patchSize, width * patchSize);
    }
}
