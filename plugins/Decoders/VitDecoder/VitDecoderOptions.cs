namespace RaePipeline.Decoders.VitDecoder;

/// <summary>
/// Options of 'vit-decoder'. Size: a <see cref="Preset"/> (ViT-B, ViT-L, ViT-XL), an HF vit_mae
/// <see cref="Config"/> whose decoder_* fields define it (also found as config.json in a weights folder), or the
/// four explicit sizes, which override the preset/config field by field.
/// </summary>
public sealed class VitDecoderOptions
{
    public string? Preset { get; set; }

    /// <summary>Path of an HF vit_mae config.json (RAE's configs/decoder/ViTXL/config.json).</summary>
    public string? Config { get; set; }

    public int? HiddenSize { get; set; }
    public int? NumHiddenLayers { get; set; }
    public int? NumAttentionHeads { get; set; }
    public int? IntermediateSize { get; set; }

    /// <summary>Pixels per latent token side (RAE <c>decoder_patch_size</c>).</summary>
    public int PatchSize { get; set; } = 16;

    /// <summary>Latent channels C when the pipeline's encoder does not tell.</summary>
    public int? LatentChannels { get; set; }

    /// <summary>Latent grid side h = w when the pipeline's encoder does not tell.</summary>
    public int? LatentGrid { get; set; }

    /// <summary>The encoder's image normalization that decoding inverts, when the pipeline's encoder does not tell.</summary>
    public float[]? ImageMean { get; set; }

    public float[]? ImageStd { get; set; }
}
