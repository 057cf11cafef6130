namespace RaePipeline.Backbones.DiffusionTransformers;

/// <summary>
/// The architecture switches of the official constructors. The defaults are the released models' values
/// (<c>use_qknorm: false, use_swiglu: true, use_rope: true, use_rmsnorm: true, wo_shift: false,
/// use_pos_embed: true</c>); <c>learn_sigma</c> (LightningDiT only) doubles the output channels and keeps the first half.
/// </summary>
public sealed record DiffusionTransformerFlags
{
    public bool UseQkNorm { get; init; }
    public bool UseSwiGlu { get; init; } = true;
    public bool UseRope { get; init; } = true;
    public bool UseRmsNorm { get; init; } = true;
    public bool WoShift { get; init; }
    public bool UsePosEmbed { get; init; } = true;
    public bool LearnSigma { get; init; }

    public static DiffusionTransformerFlags Released { get; } = new();
}
