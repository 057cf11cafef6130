namespace RaePipeline.Encoders.Onnx;

/// <summary>Options of the <c>resnet18</c> feature extractor: none; the features are the pooled 512-d output.</summary>
public sealed class ResNet18FeatureExtractorOptions;
