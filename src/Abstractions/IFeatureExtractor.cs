using static TorchSharp.torch;

namespace RaePipeline.Abstractions;

/// <summary>A frozen network that turns images into feature vectors for distribution metrics (FID, FD, precision/recall).</summary>
public interface IFeatureExtractor : IDisposable
{
    int FeatureDimension { get; }

    /// <summary>images: (B, 3, H, W) float32 in [0, 1] -> features (B, FeatureDimension), float32.</summary>
    Tensor Features(Tensor images);

    /// <summary>Class probabilities (B, K) for the Inception Score, or null when the network has no classifier.</summary>
    Tensor? ClassProbabilities(Tensor images) => null;
}
