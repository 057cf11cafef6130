namespace RaePipeline.Backbones.DiffusionTransformers;

/// <summary>
/// Options both diffusion transformers share (YAML keys in snake_case, as in the official configs). Unset values
/// come from <see cref="Config"/> when given, else from the official constructors' defaults; <c>in_channels</c> and
/// <c>input_size</c> default to the pipeline encoder's latent.
/// </summary>
public abstract class DiffusionTransformerOptions
{
    /// <summary>Backbone size preset: S, B, L or XL (default XL, as the official constructors).</summary>
    public string? Preset { get; set; }

    /// <summary>An official YAML whose <c>stage_2: {target, params, ckpt}</c> block gives the architecture (and weights when none are named).</summary>
    public string? Config { get; set; }

    /// <summary>Which entry of a training checkpoint to load: <c>ema</c> (default, the released weights) or <c>model</c>.</summary>
    public string CheckpointEntry { get; set; } = "ema";

    public int? NumClasses { get; set; }
    public double? MlpRatio { get; set; }
    public int? InChannels { get; set; }
    public int? InputSize { get; set; }
    public int? PatchSize { get; set; }
    public bool? UseQknorm { get; set; }
    public bool? UseSwiglu { get; set; }
    public bool? UseRope { get; set; }
    public bool? UseRmsnorm { get; set; }
    public bool? WoShift { get; set; }
    public bool? UsePosEmbed { get; set; }
}

/// <summary>Options of <c>lightning-dit</c>: explicit sizes are scalars, as in the official LightningDiT config.</summary>
public sealed class LightningDiTOptions : DiffusionTransformerOptions
{
    public int? HiddenSize { get; set; }
    public int? Depth { get; set; }
    public int? NumHeads { get; set; }
    public bool? LearnSigma { get; set; }
}

/// <summary>
/// Options of <c>dit-dh</c>: explicit sizes are <c>[backbone, head]</c> pairs, as in the official DiTwDDTHead config
/// (<c>num_heads</c> may be one number for both); <c>head_preset</c> names the DDT head (default: 2048 wide, 2 deep, 16 heads).
/// </summary>
public sealed class DiTDHOptions : DiffusionTransformerOptions
{
    public string? HeadPreset { get; set; }
    public int[]? HiddenSize { get; set; }
    public int[]? Depth { get; set; }
    public int[]? NumHeads { get; set; }
}
