using Microsoft.Extensions.Logging;
using RaePipeline.Abstractions;
using RaePipeline.Encoders.Onnx;

[assembly: RaePlugin(typeof(OnnxRegistrar))]

namespace RaePipeline.Encoders.Onnx;

/// <summary>Declares the encoders <c>onnx</c> and <c>resnet18</c> and the feature extractor <c>resnet18</c>.</summary>
public sealed class OnnxRegistrar : IPluginRegistrar
{
    public const string OnnxName = "onnx";

    public void Register(IComponentCatalog catalog)
    {
        catalog.Add(new ComponentRegistration<IEncoder, OnnxEncoderOptions>
        {
            Name = OnnxName,
            Description = "Any exported vision model (.onnx) on ONNX Runtime as a frozen encoder; any node of the graph as the latent",
            Create = (context, options) => OnnxEncoder.Create(context, options, ModelPath(context), OnnxName),
            Describe = (context, options) => OnnxEncoder.Describe(context, options, ModelPath(context)),
            Details = () =>
            [
                "weights: the .onnx file (or a folder holding model.onnx); node: any value or single-output node (default: the first declared output)",
                "layout: auto | tokens (B, N, C; drop_tokens first, rest on a square grid) | maps (B, C, h, w)",
                "input_size (default: the graph's), image_mean/image_std (default: preprocessor_config.json beside the file, else ImageNet), input_scale, channel_order, input, preprocess",
                "free_shape: true frees the batch and image size a fully convolutional export fixes",
                $"ONNX Runtime {Microsoft.ML.OnnxRuntime.OrtEnv.Instance().GetVersionString()}; CUDA execution provider when the device is cuda and the GPU build is installed, else CPU",
            ],
        });
        catalog.Add(new ComponentRegistration<IEncoder, ResNet18EncoderOptions>
        {
            Name = ResNet18Featurizer.Name,
            Description = "ImageNet-trained ResNet-18 (Microsoft.ML.DnnImageFeaturizer.ResNet18, shipped): a stage's feature map as the latent grid",
            Create = (context, options) => OnnxEncoder.Create(context, ResNet18Featurizer.EncoderOptions(options),
                ResNet18Featurizer.ModelPath(context), ResNet18Featurizer.Name),
            Describe = (context, options) => OnnxEncoder.Describe(context, ResNet18Featurizer.EncoderOptions(options),
                ResNet18Featurizer.ModelPath(context)),
            Details = () => ResNet18Featurizer.StageDetails().Prepend("input_size: 224 px by default (bicubic), ML.NET's preprocessing graph; weights: optional, the shipped ResNet18.onnx by default"),
        });
        catalog.Add(new ComponentRegistration<IFeatureExtractor, ResNet18FeatureExtractorOptions>
        {
            Name = ResNet18Featurizer.Name,
            Description = "ImageNet-trained ResNet-18 (shipped): pooled 512-d features; metrics are named fd_resnet18",
            Create = (context, _) => CreateExtractor(context),
            Describe = (context, _) =>
            {
                var settings = OnnxImageSettings.Resolve(context, ResNet18Featurizer.Options(ResNet18Featurizer.PooledOutput),
                    ResNet18Featurizer.ModelPath(context), "weights");
                return new ComponentDescription { ImageSize = settings.InputSize };
            },
            Details = () => ["features: the graph's declared output (global average pool of stage 4), as ML.NET's DnnImageFeaturizer gives them"],
        });
    }

    static OnnxFeatureExtractor CreateExtractor(ComponentContext context)
    {
        var settings = OnnxImageSettings.Resolve(context, ResNet18Featurizer.Options(ResNet18Featurizer.PooledOutput),
            ResNet18Featurizer.ModelPath(context), "weights");
        var runner = new OnnxImageRunner(settings, context.Device, context.LoggerFactory.CreateLogger(ResNet18Featurizer.Name));
        try
        {
            return new OnnxFeatureExtractor(runner);
        }
        catch
        {
            runner.Dispose();
            throw;
        }
    }

    /// <summary>The <c>weights</c> of an <c>onnx</c> encoder: an .onnx file, or a folder with model.onnx or a single .onnx file.</summary>
    static string ModelPath(ComponentContext context)
    {
        var path = context.WeightsPath ?? throw new ComponentConfigurationException(
            $"{OnnxName} needs `weights:` naming the .onnx file of the exported model", "weights");
        if (!Directory.Exists(path)) return path;
        var named = Path.Combine(path, "model.onnx");
        if (File.Exists(named)) return named;
        var files = Directory.GetFiles(path, "*.onnx");
        return files.Length == 1 ? files[0] : throw new ComponentConfigurationException(
            $"{path}: a folder given as `weights` needs model.onnx or exactly one .onnx file; found {files.Length}", "weights", path);
    }
}
