namespace RaePipeline.VisionTransformers;

/// <summary>
/// Options every ViT encoder plugin shares. With weights, the architecture comes from the model folder's
/// config.json and only <see cref="InputSize"/> and the normalization apply; without weights (a randomly
/// initialized encoder, e.g. for a quickstart) the architecture options describe the model.
/// </summary>
public class VisionEncoderOptions
{
    /// <summary>Side the images are resized to before the encoder (RAE <c>encoder_input_size</c>); default: config image_size.</summary>
    public int? InputSize { get; set; }

    /// <summary>Overrides preprocessor_config.json's image_mean.</summary>
    public float[]? ImageMean { get; set; }

    /// <summary>Overrides preprocessor_config.json's image_std.</summary>
    public float[]? ImageStd { get; set; }

    // Architecture of a randomly initialized encoder (ignored when weights are given).
    public int? HiddenSize { get; set; }
    public int? NumHiddenLayers { get; set; }
    public int? NumAttentionHeads { get; set; }
    public int? PatchSize { get; set; }
    public int? ImageSize { get; set; }
    public double? MlpRatio { get; set; }
    public int? IntermediateSize { get; set; }
}
