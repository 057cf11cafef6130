using static TorchSharp.torch;

namespace RaePipeline.Backbones.DiffusionTransformers;

/// <summary>Token grid back to a latent: the official <c>unpatchify</c>.</summary>
static class Patches
{
    // tokens: (B, G·G, p·p·C) -> (B, C, G·p, G·p); within a token the channel is the fastest index
    public static Tensor Unpatchify(Tensor tokens, long channels, long patchSize, long grid)
    {
        long batch = tokens.shape[0];
        if (patchSize == 1)
            return tokens.transpose(1, 2).reshape(batch, channels, grid, grid);
        return tokens.reshape(batch, grid, grid, patchSize, patchSize, channels)
            .permute(0, 5, 1, 3, 2, 4)
            .reshape(batch, channels, grid * patchSize, grid * patchSize);
    }
}
