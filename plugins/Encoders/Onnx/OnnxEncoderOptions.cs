namespace RaePipeline.Encoders.Onnx;

/// <summary>
/// Options of the <c>onnx</c> encoder (YAML keys in snake_case). The model file is the component's <c>weights</c>.
/// Images go through: bicubic resize to <see cref="InputSize"/>, <c>(x − image_mean) / image_std</c>, times
/// <see cref="InputScale"/>, channels in <see cref="ChannelOrder"/>, the optional <see cref="Preprocess"/> graph,
/// then the model; the value named by <see cref="Node"/> becomes the latent.
/// </summary>
public class OnnxEncoderOptions
{
    /// <summary>The value (or single-output node) whose output is the latent; any node of the graph. Default: the first declared output.</summary>
    public string? Node { get; set; }

    /// <summary><c>auto</c> (by rank), <c>tokens</c> ((B, N, C), mapped to a square grid) or <c>maps</c> ((B, C, h, w)).</summary>
    public string Layout { get; set; } = OutputLayout.Auto;

    /// <summary>Tokens dropped at the start of a token output (CLS, registers) before the rest forms the grid.</summary>
    public int DropTokens { get; set; }

    /// <summary>Image side fed to the graph; default: the graph input's static size (required when it is symbolic).</summary>
    public int? InputSize { get; set; }

    /// <summary>RGB mean in [0, 1] units; default: preprocessor_config.json beside the model, else ImageNet's.</summary>
    public float[]? ImageMean { get; set; }

    public float[]? ImageStd { get; set; }

    /// <summary>Factor applied after the normalization (255 for graphs that take 0..255 pixels).</summary>
    public float InputScale { get; set; } = 1;

    /// <summary><c>rgb</c> or <c>bgr</c>: channel order the graph takes.</summary>
    public string ChannelOrder { get; set; } = "rgb";

    /// <summary>Name of the image input when the graph has several.</summary>
    public string? Input { get; set; }

    /// <summary>
    /// An ONNX graph (one input, one output) run before the model, e.g. a vendor's preprocessing graph. A graph that
    /// fixes its image size runs at that size, and its output is resized (bicubic) to <see cref="InputSize"/>.
    /// </summary>
    public string? Preprocess { get; set; }

    /// <summary>
    /// The model is fully convolutional up to <see cref="Node"/> although its export fixes the batch and image size
    /// (CNTK and many older exports): those sizes of its image input are freed, so a batch runs in one call and
    /// <see cref="InputSize"/> may differ from the export's. A graph that needs its fixed sizes fails on the first
    /// run, naming the node ONNX Runtime stopped at.
    /// </summary>
    public bool FreeShape { get; set; }
}
