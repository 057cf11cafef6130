using RaePipeline.Abstractions;
using ThirdPartyEncoder;

[assembly: RaePlugin(typeof(ThirdPartyEncoderRegistrar))]

namespace ThirdPartyEncoder;

/// <summary>Declares the plugin's components to the host.</summary>
public sealed class ThirdPartyEncoderRegistrar : IPluginRegistrar
{
    public void Register(IComponentCatalog catalog) =>
        catalog.Add(new ComponentRegistration<IEncoder, PatchProjectionOptions>
        {
            Name = "patch-projection",
            Description = "sample third-party encoder: fixed random projection of image patches",
            Create = (context, options) => new PatchProjectionEncoder(options, context.Seed),
            Describe = (_, options) => new ComponentDescription
            {
                Latent = new LatentShape(options.Channels, options.InputSize / options.PatchSize, options.InputSize / options.PatchSize),
                ImageSize = options.InputSize,
            },
        });
}
