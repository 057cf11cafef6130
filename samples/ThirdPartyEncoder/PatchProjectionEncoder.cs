using RaePipeline.Abstractions;
using TorchSharp;
using static TorchSharp.torch;

namespace ThirdPartyEncoder;

/// <summary>
/// A toy frozen encoder: each p x p patch of the normalized image is flattened and projected by a fixed random
/// matrix (seeded) to C channels, then every token is standardized over its channels like RAE's affine-free final
/// LayerNorm. Small, but it honours the whole IEncoder contract.
/// </summary>
public sealed class PatchProjectionEncoder : IEncoder
{
    readonly Tensor projection; // (3*p*p, C)
    readonly int patchSize;

    public PatchProjectionEncoder(PatchProjectionOptions options, long seed)
    {
        if (options.InputSize % options.PatchSize != 0)
            throw new ComponentConfigurationException(
                $"input_size {options.InputSize} is not a multiple of patch_size {options.PatchSize}", "input_size");
        patchSize = options.PatchSize;
        InputSize = options.InputSize;
        int grid = options.InputSize / options.PatchSize;
        LatentShape = new LatentShape(options.Channels, grid, grid);
        int inputs = 3 * patchSize * patchSize;
        projection = torch.randn([inputs, options.Channels], generator: new Generator((ulong)seed))
            .div_(Math.Sqrt(inputs));
    }

    public LatentShape LatentShape { get; }
    public int InputSize { get; }
    public ImageNormalization ImageNormalization => ImageNormalization.Half;

    // images: (B, 3, H, W) in [0, 1] -> (B, C, h, w)
    public Tensor Encode(Tensor images)
    {
        using var noGrad = torch.no_grad();
        using var scope = NewDisposeScope();
        var x = images.to(float32);
        if (x.shape[2] != InputSize || x.shape[3] != InputSize)
            x = nn.functional.interpolate(x, [InputSize, InputSize], mode: InterpolationMode.Bicubic, align_corners: false);
        x = (x - 0.5) / 0.5;
        long batch = x.shape[0];
        int grid = LatentShape.Height;
        var patches = x.reshape(batch, 3, grid, patchSize, grid, patchSize)
            .permute(0, 2, 4, 1, 3, 5).reshape(batch, grid * grid, 3 * patchSize * patchSize);
        var tokens = patches.matmul(projection.to(x.device));                      // (B, N, C)
        tokens = nn.functional.layer_norm(tokens, [LatentShape.Channels], eps: 1e-6);
        return tokens.transpose(1, 2).reshape(batch, LatentShape.Channels, grid, grid).MoveToOuterDisposeScope();
    }

    public void Dispose() => projection.Dispose();
}
