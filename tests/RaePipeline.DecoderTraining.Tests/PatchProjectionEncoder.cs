using RaePipeline.Abstractions;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RaePipeline.DecoderTraining.Tests;

/// <summary>
/// A tiny frozen encoder for training tests: a random patch projection (kernel = stride = patch) followed by a
/// parameter-free LayerNorm per token, like RAE's encoders' affine-free final norm. (B, 3, S, S) -> (B, C, S/p, S/p).
/// </summary>
sealed class PatchProjectionEncoder : IEncoder
{
    readonly Conv2d projection;

    public PatchProjectionEncoder(int imageSize, int patch, int channels, long seed)
    {
        projection = nn.Conv2d(3, channels, patch, stride: patch);
        using (no_grad())
        {
            var generator = new Generator((ulong)seed);
            projection.weight!.copy_(randn(projection.weight.shape, generator: generator) / Math.Sqrt(3 * patch * patch));
            projection.bias!.zero_();
        }
        foreach (var p in projection.parameters()) p.requires_grad = false;
        projection.eval();
        InputSize = imageSize;
        LatentShape = new LatentShape(channels, imageSize / patch, imageSize / patch);
    }

    public LatentShape LatentShape { get; }
    public int InputSize { get; }
    public ImageNormalization ImageNormalization => ImageNormalization.ImageNet;

    public Tensor Encode(Tensor images)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var mean = tensor(ImageNormalization.Mean).view(1, 3, 1, 1);
        var std = tensor(ImageNormalization.Std).view(1, 3, 1, 1);
        var tokens = projection.call((images - mean) / std);                                   // (B, C, h, w)
        var normalized = nn.functional.layer_norm(tokens.permute(0, 2, 3, 1), [LatentShape.Channels], eps: 1e-6);
        return normalized.permute(0, 3, 1, 2).contiguous().MoveToOuterDisposeScope();
    }

    public void Dispose() => projection.Dispose();
}
