using RaePipeline.Abstractions;
using static TorchSharp.torch;

namespace RaePipeline.Encoders.Onnx;

/// <summary>
/// Feature vectors from an ONNX graph for distribution metrics: the fetched value averaged over its spatial
/// positions ((B, C, h, w) -> (B, C); a pooled (B, C, 1, 1) output is the vector itself).
/// </summary>
public sealed class OnnxFeatureExtractor : IFeatureExtractor
{
    readonly OnnxImageRunner runner;

    public OnnxFeatureExtractor(OnnxImageRunner runner)
    {
        var sample = OnnxEncoder.OutputSample(runner);
        if (sample.Length != 3)
            throw new ComponentConfigurationException(
                $"{runner.Settings.Model.Path}: '{runner.Settings.Output}' is (B, {string.Join(", ", sample)}); features are read from maps (B, C, h, w)",
                "node", runner.Settings.Model.Path);
        this.runner = runner;
        FeatureDimension = (int)sample[0];
    }

    public int FeatureDimension { get; }

    /// <summary>images: (B, 3, H, W) float32 in [0, 1] -> (B, FeatureDimension) float32.</summary>
    public Tensor Features(Tensor images)
    {
        using var scope = NewDisposeScope();
        return runner.Run(images).mean([2, 3]).MoveToOuterDisposeScope();
    }

    public void Dispose() => runner.Dispose();
}
