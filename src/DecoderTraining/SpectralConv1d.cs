using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RaePipeline.DecoderTraining;

/// <summary>
/// A 1-D convolution with spectral normalization of its weight (1 power iteration per forward in training mode,
/// eps 1e-12), optionally with circular padding. State-dict keys as torch's spectral_norm: <c>weight_orig</c>,
/// <c>bias</c>, <c>weight_u</c>, <c>weight_v</c>.
/// </summary>
public sealed class SpectralConv1d : nn.Module<Tensor, Tensor>
{
    readonly Parameter weight_orig;
    readonly Parameter bias;
    readonly Tensor weight_u;
    readonly Tensor weight_v;
    readonly long padding;

    /// <param name="circularPadding">Pads kernel/2 on each side circularly (the discriminator's k=9 blocks); none for k=1.</param>
    public SpectralConv1d(long inChannels, long outChannels, long kernelSize, bool circularPadding, Generator? generator = null)
        : base(nameof(SpectralConv1d))
    {
        // torch's Conv1d default initialization: kaiming_uniform(a=sqrt(5)) = U(-1/sqrt(fan_in), 1/sqrt(fan_in)), bias alike.
        double bound = 1.0 / Math.Sqrt(inChannels * kernelSize);
        weight_orig = new Parameter((rand([outChannels, inChannels, kernelSize], generator: generator) * 2 - 1) * bound);
        bias = new Parameter((rand([outChannels], generator: generator) * 2 - 1) * bound);
        (weight_u, weight_v) = SpectralNorm.InitialVectors(outChannels, inChannels * kernelSize, generator);
        padding = circularPadding ? kernelSize / 2 : 0;
        RegisterComponents();
    }

    /// <summary>The spectrally normalized weight; runs the power iteration (and updates u, v) when training.</summary>
    public Tensor NormalizedWeight() => SpectralNorm.Normalize(weight_orig, weight_u, weight_v, training ? 1 : 0);

    /// <summary>x: (B, C_in, L) -> (B, C_out, L).</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var input = padding > 0 ? nn.functional.pad(x, [padding, padding], PaddingModes.Circular) : x;
        return nn.functional.conv1d(input, NormalizedWeight(), bias).MoveToOuterDisposeScope();
    }
}
