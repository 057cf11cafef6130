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

    /// <summary>Width S of the spatial features (sFID), or null when the network has none. Contract 1.1.</summary>
    int? SpatialFeatureDimension => null;

    /// <summary>
    /// images: (B, 3, H, W) in [0, 1] -> pooled features (B, FeatureDimension) and spatial features (B, S) or null,
    /// from one forward. Contract 1.1; the default (for extractors built against 1.0) is <see cref="Features"/> alone.
    /// </summary>
    FeatureBatch FeaturesWithSpatial(Tensor images) => new(Features(images), null);
}
