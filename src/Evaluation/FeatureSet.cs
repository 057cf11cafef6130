using RaePipeline.Abstractions;
using RaePipeline.Pipeline;
using static TorchSharp.torch;

namespace RaePipeline.Evaluation;

/// <summary>
/// Features (N, D) float32 of a set of images, spatial features (N, S) when the extractor has them (sFID, from the
/// same forward), when asked and available, class probabilities (N, K), and the images' labels (N,) int64 when the
/// source knows them; on the CPU.
/// </summary>
public sealed class FeatureSet : IDisposable
{
    FeatureSet(Tensor features, Tensor? spatial, Tensor? probabilities, Tensor? labels, TimeSpan elapsed)
    {
        Features = features;
        Spatial = spatial;
        Probabilities = probabilities;
        Labels = labels;
        Elapsed = elapsed;
    }

    public Tensor Features { get; }

    public Tensor? Spatial { get; }

    public Tensor? Probabilities { get; }

    /// <summary>(N,) int64 class labels of the images (the pipeline's data), or null.</summary>
    public Tensor? Labels { get; }

    /// <summary>Time spent reading images and running the extractor.</summary>
    public TimeSpan Elapsed { get; }

    public long Count => Features.shape[0];

    /// <summary>Runs <paramref name="extractor"/> over the images of <paramref name="source"/> with a progress bar.</summary>
    public static FeatureSet Compute(IFeatureExtractor extractor, ImageSource source, int batchSize, long limit,
        bool withProbabilities, ProgressReporter progress, string label, CancellationToken cancellation)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        long total = limit > 0 ? Math.Min(source.Count, limit) : source.Count;
        var features = new List<Tensor>();
        var spatial = new List<Tensor>();
        var probabilities = new List<Tensor>();
        var labels = new List<Tensor>();
        bool hasProbabilities = withProbabilities;
        try
        {
            using var bar = progress.Start(label, total, "img");
            using var noGrad = no_grad();
            foreach (var (batch, batchLabels) in source.LabelledBatches(batchSize, limit))
            {
                cancellation.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                using var images = batch;
                if (batchLabels is not null) labels.Add(batchLabels);
                var extracted = extractor.FeaturesWithSpatial(images);
                var batchFeatures = extracted.Pooled;
                if (batchFeatures.dim() != 2 || batchFeatures.shape[1] != extractor.FeatureDimension)
                    throw new InvalidOperationException(
                        $"the feature extractor returned [{string.Join(", ", batchFeatures.shape)}] for {images.shape[0]} images; expected ({images.shape[0]}, {extractor.FeatureDimension})");
                features.Add(batchFeatures.to(float32).cpu().DetachFromDisposeScope());
                if (extracted.Spatial is { } batchSpatial && extractor.SpatialFeatureDimension is { } width)
                {
                    if (batchSpatial.dim() != 2 || batchSpatial.shape[0] != images.shape[0] || batchSpatial.shape[1] != width)
                        throw new InvalidOperationException(
                            $"the feature extractor returned spatial features [{string.Join(", ", batchSpatial.shape)}] for {images.shape[0]} images; expected ({images.shape[0]}, {width})");
                    spatial.Add(batchSpatial.to(float32).cpu().DetachFromDisposeScope());
                }
                if (hasProbabilities)
                {
                    var batchProbabilities = extractor.ClassProbabilities(images);
                    if (batchProbabilities is null) hasProbabilities = false;
                    else probabilities.Add(batchProbabilities.to(float32).cpu().DetachFromDisposeScope());
                }
                bar.Advance(images.shape[0]);
            }
            if (features.Count == 0) throw new InvalidDataException($"{source.Description}: no images to evaluate");
            return new FeatureSet(cat(features), spatial.Count == features.Count ? cat(spatial) : null,
                hasProbabilities ? cat(probabilities) : null, labels.Count == features.Count ? cat(labels) : null, clock.Elapsed);
        }
        finally
        {
            foreach (var t in features) t.Dispose();
            foreach (var t in spatial) t.Dispose();
            foreach (var t in probabilities) t.Dispose();
            foreach (var t in labels) t.Dispose();
        }
    }

    public void Dispose()
    {
        Features.Dispose();
        Spatial?.Dispose();
        Probabilities?.Dispose();
        Labels?.Dispose();
    }
}
