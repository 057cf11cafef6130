using RaePipeline.Abstractions;
using RaePipeline.Encoders.SigLip2;

[assembly: RaePlugin(typeof(SigLip2Registrar))]

namespace RaePipeline.Encoders.SigLip2;

public sealed class SigLip2Registrar : IPluginRegistrar
{
    public const string Name = "siglip2";

    public static ComponentRegistration<IEncoder, SigLip2Options> Registration { get; } = new()
    {
        Name = Name,
        Description = "Frozen SigLIP(2) vision tower (HF SiglipModel folder, e.g. google/siglip2-base-patch16-256), RAE's SigLIP2wNorm",
        Create = SigLip2Encoder.Create,
        Describe = SigLip2Encoder.Describe,
        Details = () =>
        [
            "weights: a HuggingFace folder (config.json, preprocessor_config.json, model.safetensors); text tower and MAP head are ignored",
            "input_size: 256 for siglip2-base-patch16-256 (16x16 latents, no token dropped)",
            "without weights: random init from hidden_size, num_hidden_layers, num_attention_heads, patch_size, image_size, intermediate_size or mlp_ratio",
        ],
    };

    public void Register(IComponentCatalog catalog) => catalog.Add(Registration);
}
