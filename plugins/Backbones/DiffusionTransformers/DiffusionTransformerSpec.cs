using RaePipeline.Abstractions;

namespace RaePipeline.Backbones.DiffusionTransformers;

/// <summary>Which official model class a spec describes.</summary>
public enum DiffusionTransformerKind
{
    /// <summary><c>stage2.models.lightningDiT.LightningDiT</c>: one stack of blocks.</summary>
    LightningDiT,

    /// <summary><c>stage2.models.DDT.DiTwDDTHead</c>: a backbone plus a wide, shallow DDT head.</summary>
    DiTDH,
}

/// <summary>
/// Everything that fixes a model's architecture (and so its state-dict keys and shapes), resolved from presets,
/// explicit sizes, an official config and the encoder's latent.
/// </summary>
public sealed record DiffusionTransformerSpec
{
    public required DiffusionTransformerKind Kind { get; init; }
    public required int InChannels { get; init; }
    public required int InputSize { get; init; }
    public int PatchSize { get; init; } = 1;
    public required TransformerSize Backbone { get; init; }

    /// <summary>The DDT head (DiT^DH only).</summary>
    public TransformerSize? Head { get; init; }

    public double MlpRatio { get; init; } = 4.0;
    public int NumClasses { get; init; } = 1000;
    public DiffusionTransformerFlags Flags { get; init; } = DiffusionTransformerFlags.Released;

    /// <summary>Token grid side: input_size / patch_size.</summary>
    public int Grid => InputSize / PatchSize;

    public LatentShape Latent => new(InChannels, InputSize, InputSize);

    /// <summary>Width of the blocks that produce the output (the head for DiT^DH).</summary>
    public int OutputWidth => Kind == DiffusionTransformerKind.DiTDH ? Head!.HiddenSize : Backbone.HiddenSize;

    /// <summary>
    /// Learned and frozen parameters (including <c>pos_embed</c> and <c>t_embedder.W</c>, excluding the RoPE buffers),
    /// computed from the sizes alone; equals the constructed module's parameter count.
    /// </summary>
    public long ParameterCount()
    {
        long tokenValues = (long)InChannels * PatchSize * PatchSize;
        long tokens = (long)Grid * Grid;
        var flags = Flags;
        long Blocks(TransformerSize size) =>
            size.Depth * AdaLNBlock.ParameterCount(size.HiddenSize, size.NumHeads, MlpRatio, flags);
        long Conditioning(long width) =>
            GaussianFourierEmbedding.ParameterCount(width) + LabelEmbedder.ParameterCount(NumClasses, width)
            + (flags.UsePosEmbed ? tokens * width : 0);

        if (Kind == DiffusionTransformerKind.LightningDiT)
        {
            long outputs = tokenValues * (flags.LearnSigma ? 2 : 1);
            long width = Backbone.HiddenSize;
            return PatchEmbed.ParameterCount(InChannels, width, PatchSize) + Conditioning(width) + Blocks(Backbone)
                   + FinalLayer.ParameterCount(width, outputs, flags.UseRmsNorm);
        }
        long backboneWidth = Backbone.HiddenSize, headWidth = Head!.HiddenSize;
        long projector = backboneWidth == headWidth ? 0 : backboneWidth * headWidth + headWidth;
        return PatchEmbed.ParameterCount(InChannels, headWidth, PatchSize)
               + PatchEmbed.ParameterCount(InChannels, backboneWidth, PatchSize)
               + projector + Conditioning(backboneWidth) + Blocks(Backbone) + Blocks(Head)
               + FinalLayer.ParameterCount(headWidth, tokenValues, flags.UseRmsNorm);
    }

    /// <summary>Refuses sizes the official constructors cannot build, naming the option at fault.</summary>
    public void Validate()
    {
        if (InChannels <= 0) throw new ComponentConfigurationException($"in_channels must be positive, got {InChannels}", "in_channels");
        if (PatchSize <= 0 || InputSize <= 0 || InputSize % PatchSize != 0)
            throw new ComponentConfigurationException(
                $"input_size {InputSize} must be a positive multiple of patch_size {PatchSize}", "input_size");
        if (NumClasses <= 0) throw new ComponentConfigurationException($"num_classes must be positive, got {NumClasses}", "num_classes");
        if (MlpRatio <= 0) throw new ComponentConfigurationException($"mlp_ratio must be positive, got {MlpRatio}", "mlp_ratio");
        if (Kind == DiffusionTransformerKind.DiTDH && Head is null)
            throw new ComponentConfigurationException("a DiT^DH needs a head size", "hidden_size");
        foreach (var (size, what) in Kind == DiffusionTransformerKind.DiTDH
                     ? new[] { (Backbone, "backbone"), (Head!, "head") }
                     : new[] { (Backbone, "backbone") })
        {
            if (size.HiddenSize <= 0 || size.Depth < 0 || size.NumHeads <= 0 || size.HiddenSize % size.NumHeads != 0)
                throw new ComponentConfigurationException(
                    $"{what} size {size}: hidden_size must be a positive multiple of num_heads and depth >= 0", "hidden_size");
            if (Flags.UseRope && size.HiddenSize / size.NumHeads % 4 != 0)
                throw new ComponentConfigurationException(
                    $"{what} head width {size.HiddenSize / size.NumHeads} must be divisible by 4 for 2-D RoPE", "num_heads");
        }
        if (Flags.UsePosEmbed && Backbone.HiddenSize % 4 != 0)
            throw new ComponentConfigurationException(
                $"backbone width {Backbone.HiddenSize} must be divisible by 4 for the 2-D sin-cos position embedding", "hidden_size");
        if (Flags.LearnSigma && Kind == DiffusionTransformerKind.DiTDH)
            throw new ComponentConfigurationException("learn_sigma exists for LightningDiT only", "learn_sigma");
    }

    public override string ToString() => Kind == DiffusionTransformerKind.DiTDH
        ? $"DiT^DH backbone {Backbone} + head {Head}, latent {Latent}, patch {PatchSize}, {NumClasses} classes"
        : $"LightningDiT {Backbone}, latent {Latent}, patch {PatchSize}, {NumClasses} classes";
}
