using RaePipeline.Abstractions;
using RaePipeline.Distributed;
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

    /// <summary>
    /// Runs <paramref name="extractor"/> over the images of <paramref name="source"/> with a progress bar. With a
    /// <paramref name="group"/> of several ranks, each rank extracts a contiguous range of the batches and every rank
    /// gets all features, in image order: the same set one process computes.
    /// </summary>
    public static FeatureSet Compute(IFeatureExtractor extractor, ImageSource source, int batchSize, long limit,
        bool withProbabilities, ProgressReporter progress, string label, CancellationToken cancellation, ProcessGroup? group = null)
    {
        group ??= ProcessGroup.Single;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        long total = limit > 0 ? Math.Min(source.Count, limit) : source.Count;
        var part = ShardPlan.For(ShardSelection.Whole.ForRank(group), (int)total, batchSize);
        var features = new List<Tensor>();
        var spatial = new List<Tensor>();
        var probabilities = new List<Tensor>();
        var labels = new List<Tensor>();
        bool hasProbabilities = withProbabilities;
        try
        {
            using var bar = progress.Start(label, part.ItemCount, "img");
            using var noGrad = no_grad();
            int batchIndex = -1;
            foreach (var (batch, batchLabels) in source.LabelledBatches(batchSize, limit))
            {
                cancellation.ThrowIfCancellationRequested();
                if (++batchIndex < part.FirstBatch || batchIndex >= part.EndBatch)
                {
                    batch.Dispose();
                    batchLabels?.Dispose();
                    if (batchIndex >= part.EndBatch) break;
                    continue;
                }
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
            if (group.IsDistributed) return AcrossRanks(group, features, spatial, hasProbabilities ? probabilities : null, labels, source, clock);
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

    /// <summary>Every rank's batches' features joined in rank order (= image order) on every rank; a kind of feature is kept when every rank that had images has it.</summary>
    static FeatureSet AcrossRanks(ProcessGroup group, List<Tensor> features, List<Tensor> spatial, List<Tensor>? probabilities, List<Tensor> labels,
        ImageSource source, System.Diagnostics.Stopwatch clock)
    {
        using var scope = NewDisposeScope();
        bool any = features.Count > 0;
        var anyImages = tensor(new long[] { any ? 1 : 0 });
        group.AllReduce(anyImages, ReduceOp.Max);
        if (anyImages.item<long>() == 0) throw new InvalidDataException($"{source.Description}: no images to evaluate");
        // Which kinds every rank has; ranks without images vote "yes": they have nothing to contradict.
        var agreed = tensor(new long[] { !any || spatial.Count == features.Count ? 1 : 0, !any || probabilities != null ? 1 : 0, !any || labels.Count == features.Count ? 1 : 0 });
        group.AllReduce(agreed, ReduceOp.Min);
        Tensor Joined(List<Tensor> parts, ScalarType type)
        {
            var all = group.AllGatherEach(parts.Count > 0 ? cat(parts) : empty(0, type));
            return cat(all.Where(t => t.shape[0] > 0).ToList()).MoveToOuterDisposeScope();
        }
        var joinedFeatures = Joined(features, ScalarType.Float32);
        var joinedSpatial = agreed[0].item<long>() == 1 ? Joined(spatial, ScalarType.Float32) : null;
        var joinedProbabilities = agreed[1].item<long>() == 1 ? Joined(probabilities ?? [], ScalarType.Float32) : null;
        var joinedLabels = agreed[2].item<long>() == 1 ? Joined(labels, ScalarType.Int64) : null;
        return new FeatureSet(joinedFeatures, joinedSpatial, joinedProbabilities, joinedLabels, clock.Elapsed);
    }

    public void Dispose()
    {
        Features.Dispose();
        Spatial?.Dispose();
        Probabilities?.Dispose();
        Labels?.Dispose();
    }
}
