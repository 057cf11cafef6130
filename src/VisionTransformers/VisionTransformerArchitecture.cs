using RaePipeline.Abstractions;

namespace RaePipeline.VisionTransformers;

/// <summary>Sizes of a ViT encoder: what a HF config.json or the random-init options describe.</summary>
public sealed record VisionTransformerArchitecture(
    int Width, int Layers, int Heads, int MlpWidth, int PatchSize, int ImageSize, double LayerNormEps,
    FeedForwardActivation Activation, bool QkvBias = true)
{
    /// <summary>Side of the position-embedding grid the checkpoint stores (image_size / patch_size).</summary>
    public int StoredGrid => ImageSize / PatchSize;

    /// <summary>
    /// Builds an architecture from the random-init options; each missing size is reported by its option name.
    /// </summary>
    public static VisionTransformerArchitecture FromOptions(VisionEncoderOptions options, string componentName,
        double layerNormEps, FeedForwardActivation activation)
    {
        var missing = new List<string>();
        int Required(int? value, string key)
        {
            if (value == null) missing.Add(key);
            return value ?? 0;
        }
        int width = Required(options.HiddenSize, "hidden_size");
        int layers = Required(options.NumHiddenLayers, "num_hidden_layers");
        int heads = Required(options.NumAttentionHeads, "num_attention_heads");
        int patch = Required(options.PatchSize, "patch_size");
        int image = Required(options.ImageSize ?? options.InputSize, "image_size");
        if (options.MlpRatio == null && options.IntermediateSize == null) missing.Add("mlp_ratio or intermediate_size");
        if (missing.Count > 0)
            throw new ComponentConfigurationException(
                $"'{componentName}' has no weights, so it is built randomly initialized from options; missing: {string.Join(", ", missing)}",
                missing[0].Split(' ')[0]);
        int mlp = options.IntermediateSize ?? (int)(width * options.MlpRatio!.Value);
        var architecture = new VisionTransformerArchitecture(width, layers, heads, mlp, patch, image, layerNormEps, activation);
        architecture.Validate(componentName, null);
        return architecture;
    }

    /// <summary>Checks the sizes fit together; <paramref name="filePath"/> names the config they came from.</summary>
    public void Validate(string componentName, string? filePath)
    {
        string where = filePath ?? $"'{componentName}' options";
        if (Width <= 0 || Layers <= 0 || Heads <= 0 || MlpWidth <= 0 || PatchSize <= 0 || ImageSize <= 0)
            throw new ComponentConfigurationException($"{where}: sizes must be positive ({this})", null, filePath);
        if (Width % Heads != 0)
            throw new ComponentConfigurationException(
                $"{where}: hidden_size {Width} is not divisible by num_attention_heads {Heads}", "num_attention_heads", filePath);
        if (ImageSize % PatchSize != 0)
            throw new ComponentConfigurationException(
                $"{where}: image_size {ImageSize} is not a multiple of patch_size {PatchSize}", "image_size", filePath);
    }

    /// <summary>The latent grid side for an input size, checking it is a multiple of the patch size.</summary>
    public int GridFor(int inputSize, string componentName)
    {
        if (inputSize <= 0 || inputSize % PatchSize != 0)
            throw new ComponentConfigurationException(
                $"'{componentName}': input_size {inputSize} must be a positive multiple of the patch size {PatchSize}", "input_size");
        return inputSize / PatchSize;
    }
}
