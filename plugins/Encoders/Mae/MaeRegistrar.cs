using RaePipeline.Abstractions;
using RaePipeline.Encoders.Mae;

[assembly: RaePlugin(typeof(MaeRegistrar))]

namespace RaePipeline.Encoders.Mae;

public sealed class MaeRegistrar : IPluginRegistrar
{
    public const string Name = "mae";

    public static ComponentRegistration<IEncoder, MaeOptions> Registration { get; } = new()
    {
        Name = Name,
        Description = "Frozen ViT-MAE encoder (HF ViTMAEForPreTraining folder, e.g. facebook/vit-mae-base), RAE's MAEwNorm",
        Create = MaeEncoder.Create,
        Describe = MaeEncoder.Describe,
        Details = () =>
        [
            "weights: a HuggingFace folder (config.json, preprocessor_config.json, model.safetensors); the pre-training decoder is ignored",
            "input_size: 256 for vit-mae-base (position table resized 14x14 -> 16x16, no antialias)",
            "without weights: random init from hidden_size, num_hidden_layers, num_attention_heads, patch_size, image_size, intermediate_size or mlp_ratio",
        ],
    };

    public void Register(IComponentCatalog catalog) => catalog.Add(Registration);
}
