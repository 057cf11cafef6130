using static TorchSharp.torch;

namespace RaePipeline.Abstractions;

/// <summary>
/// What one forward of a feature extractor gives: pooled features (B, D) for FID, KID, precision and recall, and,
/// when the network has them, spatial features (B, S) for sFID (for the FID Inception: mixed_6/conv's first 7
/// channels, 17 x 17 x 7 = 2023).
/// </summary>
public sealed record FeatureBatch(Tensor Pooled, Tensor? Spatial) : IDisposable
{
    public void Dispose()
    {
        Pooled.Dispose();
        Spatial?.Dispose();
    }
}
