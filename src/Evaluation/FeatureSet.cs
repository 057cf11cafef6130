using Microsoft.Extensions.Logging;
using RaePipeline.Abstractions;
using RaePipeline.Distributed;
using RaePipeline.Pipeline;
using RaePipeline.Weights;
using static TorchSharp.torch;

namespace RaePipeline.Evaluation;

/// <summary>
/// Features (N, D) float32 of a set of images, spatial features (N, S) when the extractor has them (sFID, from the
/// same forward), when asked and available, class probabilities (N, K), and the images' labels (N,) int64 when the
/// source knows them; on the CPU.
/// </summary>
public sealed class FeatureSet : IDisposable
{
    const string FeaturesArray = "features", SpatialArray = "spatial", ProbabilitiesArray = "probabilities", LabelsArray = "labels", SecondsArray = "seconds";

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

    /// <summary>Time spent reading images and running the extractor (summed over the batches, whoever computed them).</summary>
    public TimeSpan Elapsed { get; }

    public long Count => Features.shape[0];

    /// <summary>Runs <paramref name="extractor"/> over the images of <paramref name="source"/> in this process, with a progress bar.</summary>
    public static FeatureSet Compute(IFeatureExtractor extractor, ImageSource source, int batchSize, long limit,
        bool withProbabilities, ProgressReporter progress, string label, CancellationToken cancellation)
    {
        long total = source.Total(limit);
        var batches = new List<Dictionary<string, Tensor>>();
        try
        {
            using var bar = progress.Start(label, total, "img");
            using var noGrad = no_grad();
            for (long start = 0; start < total; start += batchSize)
            {
                cancellation.ThrowIfCancellationRequested();
                long end = Math.Min(total, start + batchSize);
                batches.Add(Extract(extractor, source, start, end, limit, withProbabilities).ToDictionary());
                bar.Advance(end - start);
            }
            return Joined(batches, source);
        }
        finally
        {
            foreach (var tensor in batches.SelectMany(b => b.Values)) tensor.Dispose();
        }
    }

    /// <summary>
    /// Runs <paramref name="extractor"/> over this process's batches of <paramref name="source"/> (its shard, its
    /// rank's part), each batch's features written to a chunk of <paramref name="chunks"/> as soon as it is done (a
    /// killed run resumes from them); then, in a whole run (every rank) or a merge, the whole set joined from the chunks
    /// in image order: the set one process computes. Null for a shard of an array job, whose chunks a merge joins.
    /// </summary>
    public static FeatureSet? Compute(IFeatureExtractor extractor, ImageSource source, int batchSize, long limit,
        bool withProbabilities, ProgressReporter progress, string label, CancellationToken cancellation, FeatureChunks chunks, ILogger log)
    {
        var work = new ShardedBatches(chunks.Store, chunks.Selection, chunks.Group, (int)source.Total(limit), batchSize);
        if (!chunks.Merge)
        {
            using (var bar = progress.Start(label, work.Mine.ItemCount, "img"))
            {
                bar.SetDone(work.ReusedItems);
                work.Run((start, end) => Extract(extractor, source, start, end, limit, withProbabilities), n => bar.Advance(n), log, cancellation);
            }
            if (!chunks.Selection.IsWhole) return null;
        }
        work.RequireAll("run the shards that compute them (the same eval with --shard i/N), then --merge");
        var batches = work.Batches.Select(b => NpzFile.Read(work.Store.PathOf(b))).ToList();
        try
        {
            return Joined(batches, source);
        }
        finally
        {
            foreach (var tensor in batches.SelectMany(b => b.Values)) tensor.Dispose();
            chunks.Group.Barrier(); // every rank has read the chunks
            if (chunks.Group.IsMain) work.Store.Delete(work.Batches);
        }
    }

    /// <summary>The arrays of images [start, end): features, spatial features and probabilities when there are, labels when known, and the seconds it took.</summary>
    static List<KeyValuePair<string, Tensor>> Extract(IFeatureExtractor extractor, ImageSource source, long start, long end, long limit, bool withProbabilities)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var scope = NewDisposeScope();
        var (images, labels) = source.Read(start, end, limit);
        var arrays = new List<KeyValuePair<string, Tensor>>();
        var extracted = extractor.FeaturesWithSpatial(images);
        var batchFeatures = extracted.Pooled;
        if (batchFeatures.dim() != 2 || batchFeatures.shape[0] != images.shape[0] || batchFeatures.shape[1] != extractor.FeatureDimension)
            throw new InvalidOperationException(
                $"the feature extractor returned [{string.Join(", ", batchFeatures.shape)}] for {images.shape[0]} images; expected ({images.shape[0]}, {extractor.FeatureDimension})");
        arrays.Add(new(FeaturesArray, batchFeatures.to(float32).cpu()));
        if (extracted.Spatial is { } batchSpatial && extractor.SpatialFeatureDimension is { } width)
        {
            if (batchSpatial.dim() != 2 || batchSpatial.shape[0] != images.shape[0] || batchSpatial.shape[1] != width)
                throw new InvalidOperationException(
                    $"the feature extractor returned spatial features [{string.Join(", ", batchSpatial.shape)}] for {images.shape[0]} images; expected ({images.shape[0]}, {width})");
            arrays.Add(new(SpatialArray, batchSpatial.to(float32).cpu()));
        }
        if (withProbabilities && extractor.ClassProbabilities(images) is { } probabilities)
            arrays.Add(new(ProbabilitiesArray, probabilities.to(float32).cpu()));
        if (labels is not null) arrays.Add(new(LabelsArray, labels));
        arrays.Add(new(SecondsArray, tensor(new[] { clock.Elapsed.TotalSeconds })));
        foreach (var array in arrays) array.Value.MoveToOuterDisposeScope();
        return arrays;
    }

    /// <summary>The batches' arrays joined in order; a kind of feature is kept when every batch has it.</summary>
    static FeatureSet Joined(IReadOnlyList<IReadOnlyDictionary<string, Tensor>> batches, ImageSource source)
    {
        if (batches.Count == 0) throw new InvalidDataException($"{source.Description}: no images to evaluate");
        Tensor? All(string array) => batches.All(b => b.ContainsKey(array)) ? cat(batches.Select(b => b[array]).ToList()) : null;
        var seconds = batches.Sum(b => b[SecondsArray].item<double>());
        return new FeatureSet(All(FeaturesArray)!, All(SpatialArray), All(ProbabilitiesArray), All(LabelsArray), TimeSpan.FromSeconds(seconds));
    }

    public void Dispose()
    {
        Features.Dispose();
        Spatial?.Dispose();
        Probabilities?.Dispose();
        Labels?.Dispose();
    }
}
