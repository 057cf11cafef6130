using RaePipeline.Abstractions;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.VisionTransformers;

/// <summary>
/// RAE's encode for a frozen ViT (<c>RAE.encode</c> with a <c>*wNorm</c> encoder): bicubic resize to the input size
/// (align_corners=False, no antialias, only when the size differs), <c>(x − mean)/std</c>, the family's forward,
/// the final LayerNorm WITHOUT affine parameters, drop the family's prefix tokens (CLS, registers), and reshape
/// (B, N, C) -> (B, C, h, w). The module is frozen: eval mode, no gradients.
/// </summary>
public abstract class FrozenVisionEncoder : IEncoder
{
    readonly Tensor mean, std;
    readonly double finalNormEps;
    readonly int prefixTokens;

    protected FrozenVisionEncoder(nn.Module module, int width, int patchSize, int inputSize,
        ImageNormalization normalization, double finalNormEps, int prefixTokens, Device device)
    {
        Module = module;
        InputSize = inputSize;
        ImageNormalization = normalization;
        this.finalNormEps = finalNormEps;
        this.prefixTokens = prefixTokens;
        int grid = inputSize / patchSize;
        LatentShape = new LatentShape(width, grid, grid);
        module.to(device);
        foreach (var parameter in module.parameters()) parameter.requires_grad = false;
        module.eval();
        mean = torch.tensor(normalization.Mean, device: device).view(1, 3, 1, 1);
        std = torch.tensor(normalization.Std, device: device).view(1, 3, 1, 1);
        Device = device;
    }

    public LatentShape LatentShape { get; }

    public int InputSize { get; }

    public ImageNormalization ImageNormalization { get; }

    public Device Device { get; }

    /// <summary>The frozen network (its parameters carry the checkpoint's keys).</summary>
    public nn.Module Module { get; }

    /// <summary>pixelValues: (B, 3, S, S) normalized -> all tokens before the final norm (B, prefix + h·w, C).</summary>
    protected abstract Tensor ForwardTokens(Tensor pixelValues);

    /// <summary>images: (B, 3, H, W) in [0, 1] -> raw latents (B, C, h, w).</summary>
    public Tensor Encode(Tensor images)
    {
        using var trace = Trace(images);
        return trace.Latents.alias();
    }

    /// <summary>Encode, keeping every intermediate tensor.</summary>
    public EncoderTrace Trace(Tensor images)
    {
        if (images.dim() != 4 || images.shape[1] != 3)
            throw new ArgumentException($"images must be (B, 3, H, W), got [{string.Join(", ", images.shape)}]");
        using var noGrad = torch.no_grad();
        using var scope = NewDisposeScope();
        var x = images.to(float32, Device);
        var resized = x.shape[2] != InputSize || x.shape[3] != InputSize
            ? ImageResize.Bicubic(x, InputSize, InputSize, antialias: false)
            : x.alias();
        var pixels = (resized - mean) / std;
        var tokens = ForwardTokens(pixels);
        var normalized = nn.functional.layer_norm(tokens, [tokens.shape[2]], eps: finalNormEps);
        var kept = normalized.narrow(1, prefixTokens, normalized.shape[1] - prefixTokens);
        var latents = PatchLayout.TokensToGrid(kept, LatentShape.Height, LatentShape.Width).contiguous();
        var trace = new EncoderTrace(resized, pixels, tokens, latents);
        foreach (var t in new[] { resized, pixels, tokens, latents }) t.MoveToOuterDisposeScope();
        return trace;
    }

    public void Dispose()
    {
        Module.Dispose();
        mean.Dispose();
        std.Dispose();
        GC.SuppressFinalize(this);
    }
}
