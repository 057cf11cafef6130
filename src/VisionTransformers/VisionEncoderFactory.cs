using Microsoft.Extensions.Logging;
using RaePipeline.Abstractions;
using TorchSharp;
using static TorchSharp.torch;

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

    /// <summary>
    /// Fills a freshly built model: from <see cref="ComponentContext.WeightsPath"/> with <paramref name="load"/>, or,
    /// without weights, randomly from a generator seeded with <see cref="ComponentContext.Seed"/> (with a warning).
    /// Then wraps it with <paramref name="wrap"/>; the model is disposed if anything fails.
    /// </summary>
    public static TEncoder Build<TModel, TEncoder>(ComponentContext context, string componentName,
        VisionTransformerArchitecture architecture, TModel model, Action<TModel, Generator> initializeRandomly,
        Action<TModel, string> load, Func<TModel, TEncoder> wrap)
        where TModel : nn.Module
    {
        try
        {
            if (context.WeightsPath == null)
            {
                using var generator = new Generator((ulong)context.Seed);
                initializeRandomly(model, generator);
                WarnRandomlyInitialized(context, componentName, architecture);
            }
            else
            {
                load(model, context.WeightsPath);
            }
            return wrap(model);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

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
