using Microsoft.Extensions.Logging;
using RaePipeline.Abstractions;

namespace RaePipeline.VisionTransformers;

/// <summary>The steps every ViT encoder plugin's factory shares: config, input size, normalization, warnings.</summary>
public static class VisionEncoderFactory
{
    /// <summary>The model folder's config.json, or null for a randomly initialized encoder (no weights).</summary>
    public static HuggingFaceConfig? Config(ComponentContext context) =>
        context.WeightsPath == null ? null : HuggingFaceConfig.Read(context.WeightsPath);

    /// <summary>Folder holding config.json and preprocessor_config.json, or null without weights.</summary>
    public static string? ModelFolder(ComponentContext context) =>
        context.WeightsPath == null ? null
        : Directory.Exists(context.WeightsPath) ? context.WeightsPath
        : Path.GetDirectoryName(Path.GetFullPath(context.WeightsPath));

    /// <summary>The option <c>input_size</c>, by default the config's image_size; a multiple of the patch size.</summary>
    public static int InputSize(VisionEncoderOptions options, VisionTransformerArchitecture architecture, string componentName)
    {
        int size = options.InputSize ?? architecture.ImageSize;
        architecture.GridFor(size, componentName);
        return size;
    }

    public static ImageNormalization Normalization(ComponentContext context, VisionEncoderOptions options,
        ImageNormalization familyDefault) =>
        ImageNormalizationSource.Resolve(options.ImageMean, options.ImageStd, ModelFolder(context), familyDefault);

    public static void WarnRandomlyInitialized(ComponentContext context, string componentName,
        VisionTransformerArchitecture architecture)
    {
        context.LoggerFactory.CreateLogger(componentName).LogWarning(
            "Encoder '{Component}' has no weights: it is RANDOMLY INITIALIZED (seed {Seed}; width {Width}, {Layers} layers, " +
            "{Heads} heads, patch {Patch}). Its latents carry no learned representation.",
            componentName, context.Seed, architecture.Width, architecture.Layers, architecture.Heads, architecture.PatchSize);
    }

    public static ComponentDescription Describe(VisionTransformerArchitecture architecture, int inputSize, bool random,
        string componentName)
    {
        int grid = architecture.GridFor(inputSize, componentName);
        return new ComponentDescription
        {
            Latent = new LatentShape(architecture.Width, grid, grid),
            ImageSize = inputSize,
            Warnings = random ? [$"encoder '{componentName}' has no weights and will be randomly initialized"] : [],
        };
    }
}
