using RaePipeline.Abstractions;
using RaePipeline.Decoders.VitDecoder;

[assembly: RaePlugin(typeof(VitDecoderRegistrar))]

namespace RaePipeline.Decoders.VitDecoder;

public sealed class VitDecoderRegistrar : IPluginRegistrar
{
    public const string Name = "vit-decoder";

    public static ComponentRegistration<IDecoder, VitDecoderOptions> Registration { get; } = new()
    {
        Name = Name,
        Description = "RAE's ViT pixel decoder (GeneralDecoder): presets ViT-B/L/XL, official model.pt keys",
        Create = VitDecoder.Create,
        Describe = VitDecoder.Describe,
        Details = () => VitDecoderArchitecture.Presets.Select(p =>
            $"preset {p.Key}: width {p.Value.Width}, {p.Value.Layers} layers, {p.Value.Heads} heads, MLP {p.Value.MlpWidth}; " +
            $"{new VitDecoderArchitecture(p.Value.Width, p.Value.Layers, p.Value.Heads, p.Value.MlpWidth, new LatentShape(768, 16, 16), 16).ParameterCount / 1e6:F1} M parameters for DINOv2-B latents at 256 px"),
    };

    public void Register(IComponentCatalog catalog) => catalog.Add(Registration);
}
