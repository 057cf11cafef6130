using RaePipeline.Abstractions;

namespace RaePipeline.FeatureExtractors.InceptionV3;

/// <summary>Declares <c>inception-v3-fid</c>, built by the host through the extractor's constructor (contracts 1.1).</summary>
public sealed class InceptionV3Registrar : IPluginRegistrar
{
    public const string Name = "inception-v3-fid";

    public void Register(IComponentCatalog catalog) =>
        catalog.Add(new ComponentClassRegistration<IFeatureExtractor, InceptionV3FidExtractor, InceptionV3FidOptions>
        {
            Name = Name,
            Description = "FID Inception-v3 (pytorch-fid port of TF 2015-12-05): pool3 features (2048) and IS class probabilities",
            Describe = (context, _) =>
            {
                RequireWeights(context);
                return new ComponentDescription { ImageSize = FidInceptionV3.InputSize };
            },
            Details = () =>
            [
                $"weights: {InceptionV3FidExtractor.WeightsFileName} (pytorch-fid release file; not downloaded by RaePipeline)",
                "input: any size, resized bilinearly to 299 and scaled to [-1, 1]; features: pool3 (2048); classes: 1008",
            ],
        });

    internal static string RequireWeights(ComponentContext context) =>
        context.WeightsPath ?? throw new ComponentConfigurationException(
            $"{Name} needs its weights file: set `weights:` to {InceptionV3FidExtractor.WeightsFileName} " +
            "(pytorch-fid's release file of the TensorFlow FID Inception; it cannot be downloaded by RaePipeline)",
            "weights");
}
