namespace RaePipeline.VisionTransformers;

/// <summary>
/// Where the parts of a pre-LN transformer layer live in a checkpoint family's state dict, relative to the layer.
/// The math is the same for every family; only these names differ.
/// </summary>
public sealed record TransformerLayerNames(
    string Norm1, string Query, string Key, string Value, string AttentionOutput,
    string Norm2, string Fc1, string Fc2, string? LayerScale1 = null, string? LayerScale2 = null)
{
    /// <summary>HF Dinov2 / Dinov2WithRegisters (<c>Dinov2Layer</c>), with LayerScale.</summary>
    public static TransformerLayerNames Dinov2 { get; } = new(
        "norm1", "attention.attention.query", "attention.attention.key", "attention.attention.value",
        "attention.output.dense", "norm2", "mlp.fc1", "mlp.fc2", "layer_scale1", "layer_scale2");

    /// <summary>HF ViT / ViT-MAE (<c>ViTMAELayer</c>): the MAE encoder and the RAE decoder.</summary>
    public static TransformerLayerNames VitMae { get; } = new(
        "layernorm_before", "attention.attention.query", "attention.attention.key", "attention.attention.value",
        "attention.output.dense", "layernorm_after", "intermediate.dense", "output.dense");

    /// <summary>HF SigLIP (<c>SiglipEncoderLayer</c>).</summary>
    public static TransformerLayerNames Siglip { get; } = new(
        "layer_norm1", "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
        "self_attn.out_proj", "layer_norm2", "mlp.fc1", "mlp.fc2");
}
