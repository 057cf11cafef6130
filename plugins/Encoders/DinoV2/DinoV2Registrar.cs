using RaePipeline.Abstractions;
using RaePipeline.Encoders.DinoV2;

[assembly: RaePlugin(typeof(DinoV2Registrar))]

namespace RaePipeline.Encoders.DinoV2;

public sealed class DinoV2Registrar : IPluginRegistrar
{
    public const string Name = "dinov2";

    public static ComponentRegistration<IEncoder, DinoV2Options> Registration { get; } = new()
    {
        Name = Name,
        Description = "Frozen DINOv2 with registers (HF Dinov2WithRegistersModel folder), RAE's Dinov2withNorm",
        Create = DinoV2Encoder.Create,
        Describe = DinoV2Encoder.Describe,
        Details = () =>
        [
            "weights: a HuggingFace folder (config.json, preprocessor_config.json, model.safetensors), e.g. facebook/dinov2-with-registers-base",
            "input_size: 224 for 256-px images (16x16 latents), 448 for 512-px",
            "without weights: random init from hidden_size, num_hidden_layers, num_attention_heads, patch_size, image_size, mlp_ratio, num_register_tokens",
        ],
    };

    public void Register(IComponentCatalog catalog) => catalog.Add(Registration);
}
