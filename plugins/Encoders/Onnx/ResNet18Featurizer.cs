using RaePipeline.Abstractions;

namespace RaePipeline.Encoders.Onnx;

/// <summary>
/// The ImageNet-trained ResNet-18 of NuGet's Microsoft.ML.DnnImageFeaturizer.ResNet18 (a CNTK export, 224x224,
/// batch 1), copied into this plugin's <c>models/</c> folder at build time. ML.NET's featurizer feeds its
/// preprocessing graph (ResNetPreprocess.onnx: RGB -> BGR, minus a 224x224 mean image) with 0..255 RGB planes
/// and takes the model's declared output, the 512-d global average pool (<see cref="PooledOutput"/>); this does
/// the same. Stage 4 of this export has three residual blocks (22 convolutions in all).
/// </summary>
public static class ResNet18Featurizer
{
    public const string Name = "resnet18";
    public const string ModelFileName = "ResNet18.onnx";
    public const string PreprocessFileName = "ResNetPreprocess.onnx";

    /// <summary>The graph's declared output: (1, 512, 1, 1), the average pool over stage 4's 7x7 map.</summary>
    public const string PooledOutput = "Pooling395_Output_0";

    /// <summary>The last ReLU of stages 1-4 at 224 px: 64x56x56, 128x28x28, 256x14x14, 512x7x7 (sides scale with the input).</summary>
    public static IReadOnlyList<string> StageOutputs { get; } =
        ["ReLU283_Output_0", "ReLU315_Output_0", "ReLU347_Output_0", "ReLU393_Output_0"];

    /// <summary>The residual sums those ReLUs take (same shapes): the stages' features before the activation.</summary>
    public static IReadOnlyList<string> PreActivationOutputs { get; } =
        ["Plus281_Output_0", "Plus313_Output_0", "Plus345_Output_0", "Plus391_Output_0"];

    static readonly string[] StageShapes = ["64x56x56", "128x28x28", "256x14x14", "512x7x7"];

    /// <summary>Where the build puts the two graphs: <c>models/</c> beside the plugin assembly.</summary>
    public static string ModelFolder =>
        Path.Combine(Path.GetDirectoryName(typeof(ResNet18Featurizer).Assembly.Location)!, "models");

    /// <summary>The component's <c>weights</c> when given, else the shipped model.</summary>
    public static string ModelPath(ComponentContext context) => context.WeightsPath ?? Path.Combine(ModelFolder, ModelFileName);

    /// <summary>
    /// The <c>onnx</c> options that reproduce the featurizer up to <paramref name="node"/>, fed
    /// <paramref name="inputSize"/> px (default 224). The graph is convolutional up to the pooled output, so its fixed
    /// batch of 1 and size are freed.
    /// </summary>
    public static OnnxEncoderOptions Options(string node, int? inputSize = null) => new()
    {
        Node = node,
        InputSize = inputSize,
        FreeShape = true,
        Layout = OutputLayout.Maps,
        ImageMean = [0, 0, 0],
        ImageStd = [1, 1, 1],
        InputScale = 255,
        Preprocess = Path.Combine(ModelFolder, PreprocessFileName),
    };

    /// <summary>The <c>onnx</c> options of the <c>resnet18</c> encoder's choices.</summary>
    public static OnnxEncoderOptions EncoderOptions(ResNet18EncoderOptions options) =>
        Options(StageOutput(options.Stage, options.PreActivation), options.InputSize);

    /// <summary>The node of stage <paramref name="stage"/>'s feature map, after its last ReLU or, <paramref name="preActivation"/>, before it.</summary>
    public static string StageOutput(int stage, bool preActivation = false) =>
        stage is >= 1 and <= 4 ? (preActivation ? PreActivationOutputs : StageOutputs)[stage - 1]
        : throw new ComponentConfigurationException($"stage must be 1, 2, 3 or 4 (ResNet-18 stages), got {stage}", "stage");

    public static IEnumerable<string> StageDetails() =>
        Enumerable.Range(1, 4).Select(s => $"stage {s}: {StageShapes[s - 1]} latents ({StageOutputs[s - 1]}; pre_activation: true takes {PreActivationOutputs[s - 1]})");
}
