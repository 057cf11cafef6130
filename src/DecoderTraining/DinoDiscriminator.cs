using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RaePipeline.DecoderTraining;

/// <summary>
/// The stage-1 GAN discriminator: a frozen DINO ViT gives token features of several blocks, and one trainable head
/// per feature map scores every token. Head: SNConv1d(k=1) -> BatchNormLocal -> LeakyReLU(0.2) ->
/// residual[(SNConv1d(k, circular) -> BatchNormLocal -> LeakyReLU(0.2)) + x]/sqrt(2) -> SNConv1d(to 1 channel).
/// Only the heads are in the state dict (<c>heads.N.*</c>, as the reference's <c>disc</c> checkpoint entry);
/// the feature network is owned but not registered.
/// </summary>
public sealed class DinoDiscriminator : nn.Module<Tensor, Tensor>
{
    readonly ModuleList<Sequential> heads;
    readonly DinoFeatureNetwork features;

    /// <param name="features">The frozen feature network; the discriminator takes ownership.</param>
    /// <param name="kernelSize">Kernel of the residual convolution (9 in the recipe).</param>
    /// <param name="generator">Seeds the heads' initialization and the spectral-norm vectors.</param>
    public DinoDiscriminator(DinoFeatureNetwork features, int kernelSize = 9, double normEps = 1e-6, Generator? generator = null)
        : base(nameof(DinoDiscriminator))
    {
        if (kernelSize <= 0 || kernelSize % 2 == 0)
            throw new ArgumentException($"discriminator kernel size must be odd and positive, got {kernelSize}", nameof(kernelSize));
        this.features = features;
        long channels = features.Options.EmbedDim;
        heads = new ModuleList<Sequential>(Enumerable.Range(0, features.FeatureCount).Select(_ => nn.Sequential(
            ("0", Block(channels, 1, normEps, generator)),
            ("1", new ScaledResidual(Block(channels, kernelSize, normEps, generator))),
            ("2", new SpectralConv1d(channels, 1, 1, circularPadding: false, generator)))).ToArray());
        register_module("heads", heads);
    }

    public DinoFeatureNetwork Features => features;

    /// <summary>SNConv1d(k) -> BatchNormLocal -> LeakyReLU(0.2).</summary>
    static Sequential Block(long channels, int kernelSize, double normEps, Generator? generator) => nn.Sequential(
        ("0", new SpectralConv1d(channels, channels, kernelSize, circularPadding: kernelSize > 1, generator)),
        ("1", new BatchNormLocal(channels, normEps)),
        ("2", nn.LeakyReLU(0.2)));

    /// <summary>x: (B, 3, H, W) in [-1, 1] -> logits (B, heads * tokens), one per token of every feature map.</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var maps = features.call(x);
        long batch = x.shape[0];
        var logits = maps.Select((map, i) => heads[i].call(map).view(batch, -1)).ToList();
        return cat(logits, 1).MoveToOuterDisposeScope();
    }

    /// <summary>Moves the heads and the frozen feature network.</summary>
    public DinoDiscriminator MoveTo(Device device)
    {
        this.to(device);
        features.to(device);
        return this;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) features.Dispose();
        base.Dispose(disposing);
    }
}
