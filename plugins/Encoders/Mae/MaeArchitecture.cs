using RaePipeline.VisionTransformers;

namespace RaePipeline.Encoders.Mae;

/// <summary>Sizes of a ViT-MAE encoder from its HF vit_mae config (the decoder_* fields are not used here).</summary>
public static class MaeArchitecture
{
    public static VisionTransformerArchitecture FromConfig(HuggingFaceConfig config)
    {
        config.RequireModelType(MaeRegistrar.Name, "vit_mae");
        var architecture = new VisionTransformerArchitecture(
            config.Int("hidden_size"), config.Int("num_hidden_layers"), config.Int("num_attention_heads"),
            config.Int("intermediate_size"), config.Int("patch_size"), config.Int("image_size"),
            config.Double("layer_norm_eps", 1e-12), config.Activation(), config.Bool("qkv_bias", true));
        architecture.Validate(MaeRegistrar.Name, config.FilePath);
        return architecture;
    }

    public static VisionTransformerArchitecture FromOptions(MaeOptions options) =>
        VisionTransformerArchitecture.FromOptions(options, MaeRegistrar.Name, 1e-12, FeedForwardActivation.Gelu);
}
