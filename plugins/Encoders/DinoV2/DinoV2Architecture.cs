using RaePipeline.Abstractions;
using RaePipeline.VisionTransformers;

namespace RaePipeline.Encoders.DinoV2;

/// <summary>Sizes of a Dinov2WithRegisters model: a ViT plus register tokens and LayerScale.</summary>
public sealed record DinoV2Architecture(VisionTransformerArchitecture Vit, int RegisterTokens, double LayerScaleInit)
{
    public const string ModelType = "dinov2_with_registers";

    public static DinoV2Architecture FromConfig(HuggingFaceConfig config)
    {
        config.RequireModelType(DinoV2Registrar.Name, ModelType);
        if (config.Bool("use_swiglu_ffn", false))
            throw new ComponentConfigurationException(
                $"{config.FilePath}: use_swiglu_ffn = true (DINOv2-g SwiGLU) is not supported; only the MLP variant is",
                "weights", config.FilePath);
        int width = config.Int("hidden_size");
        var vit = new VisionTransformerArchitecture(
            width, config.Int("num_hidden_layers"), config.Int("num_attention_heads"),
            (int)(width * config.Double("mlp_ratio", 4.0)), config.Int("patch_size"), config.Int("image_size"),
            config.Double("layer_norm_eps", 1e-6), config.Activation(), config.Bool("qkv_bias", true));
        vit.Validate(DinoV2Registrar.Name, config.FilePath);
        return new DinoV2Architecture(vit, config.Int("num_register_tokens", 4), config.Double("layerscale_value", 1.0));
    }

    public static DinoV2Architecture FromOptions(DinoV2Options options) =>
        new(VisionTransformerArchitecture.FromOptions(options, DinoV2Registrar.Name, 1e-6, FeedForwardActivation.Gelu),
            options.NumRegisterTokens ?? 4, 1.0);
}
