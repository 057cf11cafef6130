using Microsoft.Extensions.Logging;
using RaePipeline.Abstractions;
using RaePipeline.Data;
using RaePipeline.Latents;
using RaePipeline.Pipeline;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Training;

/// <summary>
/// What stage-2 training reads, checked against the denoiser before any step: the dataset (its classes must be known
/// to the denoiser), the latent statistics (when the pipeline has them; of the denoiser's latent shape) and the raw
/// latent batches, from the latent cache (filled first if needed) or encoded on the fly.
/// </summary>
public sealed class TrainingInputs : IDisposable
{
    readonly LatentBatchSource source;
    readonly int microBatches;

    TrainingInputs(IImageDataset dataset, LatentStatistics? statistics, LatentBatchSource source, int microBatchSize, int microBatches)
    {
        Dataset = dataset;
        Statistics = statistics;
        this.source = source;
        MicroBatchSize = microBatchSize;
        this.microBatches = microBatches;
    }

    public IImageDataset Dataset { get; }

    public LatentStatistics? Statistics { get; }

    public int MicroBatchSize { get; }

    public int BatchesPerEpoch => source.BatchesPerEpoch;

    public static TrainingInputs Open(JobContext context, TrainJobOptions options, ILogger log)
    {
        var components = context.Components;
        var denoiser = components.Denoiser;
        var encoder = components.Encoder;
        if (encoder.LatentShape != denoiser.LatentShape)
            throw new InvalidOperationException(
                $"the encoder produces latents {encoder.LatentShape} but the denoiser '{components.NameOf(PipelineRole.Denoiser)}' " +
                $"denoises {denoiser.LatentShape}: set the denoiser's input size and channels to the encoder's latent");
        var dataset = Datasets.Open(context.Data, context.PipelineDirectory, context.Seed);
        if (dataset.NumClasses > denoiser.NumClasses)
            throw new InvalidOperationException(
                $"the data has {dataset.NumClasses} classes but the denoiser knows {denoiser.NumClasses} (set its num_classes)");
        var statistics = components.Statistics;
        if (statistics != null && statistics.Shape != denoiser.LatentShape)
            throw new InvalidOperationException(
                $"the latent statistics are {statistics.Shape} but the denoiser denoises {denoiser.LatentShape}: " +
                "they belong to another encoder or input size (recompute them with the stats job)");
        int microBatchSize = options.BatchSize / options.GradAccumulation;
        var source = OpenLatents(context, options, dataset, encoder, microBatchSize, log);
        return new TrainingInputs(dataset, statistics, source, microBatchSize, options.GradAccumulation);
    }

    /// <summary>
    /// Micro-batch <paramref name="index"/> of optimizer step <paramref name="step"/>: latents (B, C, h, w) float32,
    /// normalized with the statistics when there are any, and labels (B,) int64, on the device. The batches form one
    /// endless seeded sequence, micro-batch i of step s being batch s * k + i, so a resumed run reads what an
    /// uninterrupted one would. (A data-parallel run gives each rank its own slice of the step's batches here.)
    /// </summary>
    public (Tensor Latents, Tensor Labels) MicroBatch(long step, int index)
    {
        using var scope = NewDisposeScope();
        var (latents, labels) = source.Batch(step * microBatches + index);
        var normalized = Statistics?.Normalize(latents) ?? latents;
        return (normalized.MoveToOuterDisposeScope(), labels.MoveToOuterDisposeScope());
    }

    static LatentBatchSource OpenLatents(JobContext context, TrainJobOptions options, IImageDataset dataset, IEncoder encoder,
        int microBatchSize, ILogger log)
    {
        var data = context.Data;
        long batchSeed = (long)SeedDerivation.Derive(context.Seed, "train-batches");
        if (string.IsNullOrWhiteSpace(data.LatentCache))
        {
            log.LogInformation("no data.latent_cache: encoding images on the fly (set data.latent_cache to encode once)");
            return LatentBatchSource.Encoding(dataset, encoder, microBatchSize, batchSeed, data.RandomFlip, context.Device);
        }
        var cache = LatentCache.Open(context.ResolvePath(data.LatentCache), dataset, encoder,
            context.Components.NameOf(PipelineRole.Encoder), context.Device,
            options.EncodeBatchSize > 0 ? options.EncodeBatchSize : microBatchSize,
            logger: log, progress: context.Progress, cancellation: context.Cancellation);
        log.LogInformation("latents from the cache {Folder}", cache.Folder);
        return LatentBatchSource.FromCache(cache, microBatchSize, batchSeed, data.RandomFlip, context.Device);
    }

    public void Dispose() => source.Dispose();
}
