using RaePipeline.VisionTransformers;

namespace RaePipeline.Encoders.SigLip2;

/// <summary>Sizes of a SigLIP vision tower, from a SiglipModel config (<c>vision_config</c>) or a SiglipVisionModel config.</summary>
public static class SigLip2Architecture
{
    public static VisionTransformerArchitecture FromConfig(HuggingFaceConfig config)
    {
        config.RequireModelType(SigLip2Registrar.Name, "siglip", "siglip_vision_model");
        var vision = config.ModelType == "siglip" ? config.Section("vision_config") : config;
        var architecture = new VisionTransformerArchitecture(
            vision.Int("hidden_size"), vision.Int("num_hidden_layers"), vision.Int("num_attention_heads"),
            vision.Int("intermediate_size"), vision.Int("patch_size"), vision.Int("image_size"),
            vision.Double("layer_norm_eps", 1e-6), vision.Activation(fallback: "gelu_pytorch_tanh"));
        architecture.Validate(SigLip2Registrar.Name, config.FilePath);
        return architecture;
    }

    public static VisionTransformerArchitecture FromOptions(SigLip2Options options) =>
        VisionTransformerArchitecture.FromOptions(options, SigLip2Registrar.Name, 1e-6, FeedForwardActivation.GeluTanh);
}
