using RaePipeline.Abstractions;
using RaePipeline.VisionTransformers;

namespace RaePipeline.Encoders.Onnx;

/// <summary>
/// Everything about running images through an ONNX graph that can be known without a session: the model (and
/// preprocessing graph), the image input, the fetched value, the input size, the normalization and the batch size
/// the graph fixes. Building it reads and checks the files; errors name the file, the input or node, and the option.
/// </summary>
public sealed class OnnxImageSettings
{
    public required OnnxModelFile Model { get; init; }

    /// <summary>The graph images are fed to first: the preprocessing graph when there is one, else the model.</summary>
    public required OnnxValue FirstInput { get; init; }

    /// <summary>The model's input (fed by the preprocessing graph when there is one).</summary>
    public required OnnxValue ModelInput { get; init; }

    public OnnxModelFile? Preprocess { get; init; }

    /// <summary>The preprocessing graph's output that feeds the model.</summary>
    public string? PreprocessOutput { get; init; }

    /// <summary>The fetched value (a node output of the model).</summary>
    public required string Output { get; init; }

    /// <summary>The image side the model is fed.</summary>
    public required int InputSize { get; init; }

    /// <summary>The image side the preprocessing graph runs at: its fixed size, else <see cref="InputSize"/>.</summary>
    public int? PreprocessSize { get; init; }

    /// <summary>The model's fixed batch and image size are freed (<see cref="OnnxEncoderOptions.FreeShape"/>).</summary>
    public required bool FreeShape { get; init; }

    public required ImageNormalization Normalization { get; init; }

    public required float InputScale { get; init; }

    public required bool Bgr { get; init; }

    /// <summary>The batch size the model fixes (1 for many exports), or null when it takes any batch.</summary>
    public long? ModelBatch => FreeShape ? null : ModelInput.Dimensions![0].Size;

    /// <summary>The batch size the preprocessing graph fixes, or null when it takes any batch.</summary>
    public long? PreprocessBatch => Preprocess == null ? null : FirstInput.Dimensions![0].Size;

    /// <summary>
    /// The fetched value's dimensions after the batch when the file declares them and they hold for this input (the
    /// input size is fixed by the graph); null when only a run can tell.
    /// </summary>
    public long[]? DeclaredOutputSample
    {
        get
        {
            bool inputStatic = !FreeShape && ModelInput.Dimensions is { Length: 4 } d && d[2].Size.HasValue && d[3].Size.HasValue;
            var declared = Model.Graph.Declared(Output);
            return inputStatic && declared is { HasStaticSample: true }
                ? declared.Dimensions!.Skip(1).Select(x => x.Size!.Value).ToArray()
                : null;
        }
    }

    /// <param name="modelPath">The model file (absolute).</param>
    /// <param name="modelOptionKey">The option that named it (<c>weights</c>), for messages.</param>
    public static OnnxImageSettings Resolve(ComponentContext context, OnnxEncoderOptions options, string modelPath,
        string modelOptionKey)
    {
        var model = OnnxModelFile.Read(modelPath, modelOptionKey);
        var modelInput = model.Input(options.Input, "input");
        var output = model.Graph.ResolveValue(options.Node ?? DefaultOutput(model), "node");
        CheckFloat(model, modelInput.Name, modelInput.ElementType, "input");
        var declaredOutput = model.Graph.Declared(output);
        if (declaredOutput is { ElementType: > 0 }) CheckFloat(model, output, declaredOutput.ElementType, "node");

        OnnxModelFile? preprocess = null;
        string? preprocessOutput = null;
        var firstInput = modelInput;
        if (!string.IsNullOrWhiteSpace(options.Preprocess))
        {
            preprocess = OnnxModelFile.Read(context.ResolvePath(options.Preprocess), "preprocess");
            firstInput = preprocess.Input(null, "preprocess");
            CheckFloat(preprocess, firstInput.Name, firstInput.ElementType, "preprocess");
            if (preprocess.Graph.Outputs.Count != 1)
                throw new ComponentConfigurationException(
                    $"{preprocess.Path}: a preprocessing graph needs one output, this one has {preprocess.Graph.Outputs.Count}", "preprocess", preprocess.Path);
            preprocessOutput = preprocess.Graph.Outputs[0].Name;
        }

        int? preprocessSize = preprocess == null ? null : FixedSide(firstInput, preprocess, "preprocess");
        int inputSize = ResolveInputSize(options.InputSize, modelInput, model, options.FreeShape, preprocessSize);
        if (preprocess != null) preprocessSize ??= inputSize;

        if (options.InputScale is <= 0 or float.NaN or float.PositiveInfinity)
            throw new ComponentConfigurationException($"input_scale must be positive and finite, got {options.InputScale}", "input_scale");
        bool bgr = options.ChannelOrder.ToLowerInvariant() switch
        {
            "rgb" => false,
            "bgr" => true,
            _ => throw new ComponentConfigurationException($"channel_order must be 'rgb' or 'bgr', got '{options.ChannelOrder}'", "channel_order"),
        };
        var normalization = ImageNormalizationSource.Resolve(options.ImageMean, options.ImageStd,
            Path.GetDirectoryName(model.Path), ImageNormalization.ImageNet);
        return new OnnxImageSettings
        {
            Model = model, FirstInput = firstInput, ModelInput = modelInput, Preprocess = preprocess,
            PreprocessOutput = preprocessOutput, Output = output, InputSize = inputSize, PreprocessSize = preprocessSize,
            FreeShape = options.FreeShape, Normalization = normalization, InputScale = options.InputScale, Bgr = bgr,
        };
    }

    static string DefaultOutput(OnnxModelFile model) =>
        model.Graph.Outputs.Count > 0 ? model.Graph.Outputs[0].Name
        : throw new ComponentConfigurationException($"{model.Path}: the graph declares no outputs; set `node`", "node", model.Path);

    /// <summary>
    /// The side the model is fed: the option (checked against the input's fixed size unless <paramref name="free"/>),
    /// else the input's fixed size, else <paramref name="fallback"/> (the preprocessing graph's fixed size).
    /// </summary>
    static int ResolveInputSize(int? option, OnnxValue input, OnnxModelFile file, bool free, int? fallback)
    {
        if (option is <= 0)
            throw new ComponentConfigurationException($"input_size must be positive, got {option}", "input_size");
        if (option is { } size)
        {
            CheckImageInput(input, free ? null : size, file, "input_size");
            return size;
        }
        return FixedSide(input, file, "input") ?? fallback ?? throw new ComponentConfigurationException(
            $"{file.Path}: input '{input.Name}' is {input.ShapeText} (symbolic size); set `input_size`", "input_size", file.Path);
    }

    /// <summary>The square side an image input fixes, or null when its height and width are symbolic.</summary>
    static int? FixedSide(OnnxValue input, OnnxModelFile file, string optionKey)
    {
        CheckImageInput(input, null, file, optionKey);
        var d = input.Dimensions!;
        if (d[2].Size is not { } height || d[3].Size is not { } width) return null;
        return height == width ? (int)height : throw new ComponentConfigurationException(
            $"{file.Path}: input '{input.Name}' is {input.ShapeText}; the encoder feeds square images", optionKey, file.Path);
    }

    /// <summary>The input takes (B, 3, S, S) images: rank 4, 3 channels, and the static sides equal to <paramref name="size"/>.</summary>
    static void CheckImageInput(OnnxValue input, int? size, OnnxModelFile file, string optionKey)
    {
        var d = input.Dimensions;
        if (d is not { Length: 4 } || d[1].Size is not (null or 3))
            throw new ComponentConfigurationException(
                $"{file.Path}: input '{input.Name}' is {input.ShapeText}; the encoder feeds images (B, 3, H, W)", optionKey, file.Path);
        if (size is { } s && ((d[2].Size is { } h && h != s) || (d[3].Size is { } w && w != s)))
            throw new ComponentConfigurationException(
                $"{file.Path}: input '{input.Name}' is {input.ShapeText}, fixed by the graph; input_size {s} does not fit it (use {d[2]}, export the model with a dynamic size, or set `free_shape: true` if it is fully convolutional)",
                optionKey, file.Path);
    }

    static void CheckFloat(OnnxModelFile file, string value, int elementType, string optionKey)
    {
        if (elementType != OnnxValue.Float32)
            throw new ComponentConfigurationException(
                $"{file.Path}: '{value}' has ONNX element type {elementType}; the onnx encoder feeds and reads float32 (type 1)", optionKey, file.Path);
    }
}
