using Microsoft.Extensions.Logging;
using RaePipeline.Abstractions;
using RaePipeline.Data;
using RaePipeline.Distributed;
using RaePipeline.Latents;
using RaePipeline.Pipeline;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Training;

/// <summary>
/// What stage-2 training reads, checked against the denoiser before any step: the dataset (its classes must be known
/// to the denoiser), the latent statistics (when the pipeline has them; of the denoiser's latent shape) and the raw
/// latent batches, from the latent cache (filled first if needed) or encoded on the fly. In a data-parallel run each
/// rank reads only its <see cref="Slice"/> of every global micro-batch.
/// </summary>
public sealed class TrainingInputs : IDisposable
{
    readonly LatentBatchSource source;
    readonly int microBatches;

    TrainingInputs(IImageDataset dataset, LatentStatistics? statistics, LatentBatchSource source, int microBatchSize, int microBatches,
        BatchSlice slice)
    {
        Dataset = dataset;
        Statistics = statistics;
        this.source = source;
        MicroBatchSize = microBatchSize;
        this.microBatches = microBatches;
        Slice = slice;
    }

    public IImageDataset Dataset { get; }

    public LatentStatistics? Statistics { get; }

    /// <summary>Samples of a global micro-batch (all ranks together).</summary>
    public int MicroBatchSize { get; }

    /// <summary>This rank's rows of every global micro-batch (all of them in a single process).</summary>
    public BatchSlice Slice { get; }

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
        var group = context.ProcessGroup;
        if (microBatchSize < group.WorldSize)
            throw new InvalidOperationException(
                $"a micro-batch of {microBatchSize} samples (batch_size {options.BatchSize} / grad_accumulation {options.GradAccumulation}) " +
                $"cannot give each of the {group.WorldSize} ranks a sample: raise batch_size or lower grad_accumulation or the number of ranks");
        var source = OpenLatents(context, options, dataset, encoder, microBatchSize, log);
        return new TrainingInputs(dataset, statistics, source, microBatchSize, options.GradAccumulation, BatchSlice.Of(microBatchSize, group));
    }

    /// <summary>
    /// This rank's slice of micro-batch <paramref name="index"/> of optimizer step <paramref name="step"/>: latents
    /// (b, C, h, w) float32, normalized with the statistics when there are any, and labels (b,) int64, on the device,
    /// with the run-wide number of its first sample (the seed of each sample's noise, time and label dropout). The
    /// global batches form one endless seeded sequence, micro-batch i of step s being batch s * k + i, so a resumed
    /// run reads what an uninterrupted one would, whatever the number of ranks.
    /// </summary>
    public (Tensor Latents, Tensor Labels, long FirstSample) MicroBatch(long step, int index)
    {
        using var scope = NewDisposeScope();
        long batch = step * microBatches + index;
        var (latents, labels) = source.Batch(batch, Slice.Start, Slice.End);
        var normalized = Statistics?.Normalize(latents) ?? latents;
        return (normalized.MoveToOuterDisposeScope(), labels.MoveToOuterDisposeScope(), Slice.FirstSample(batch));
    }

    static LatentBatchSource OpenLatents(JobContext context, TrainJobOptions options, IImageDataset dataset, IEncoder encoder,
        int microBatchSize, ILogger log)
    {
        var data = context.Data;
        long batchSeed = (long)SeedDerivation.Derive(context.Seed, "train-batches");
        if (string.IsNullOrWhiteSpace(data.LatentCache))
        {
            log.LogInformation("no data.latent_cache: encoding images on the fly (set data.latent_cache to encode once)");
            return LatentBatchSource.Encoding(dataset, encoder, microBatchSize, batchSeed, data.RandomFlip, BatchPrefetch.For(data), context.Device);
        }
        var cache = LatentCache.OpenForJob(context, dataset, options.EncodeBatchSize > 0 ? options.EncodeBatchSize : microBatchSize, log);
        return LatentBatchSource.FromCache(cache, microBatchSize, batchSeed, data.RandomFlip, BatchPrefetch.For(data), context.Device);
    }

    public void Dispose() => source.Dispose();
}
