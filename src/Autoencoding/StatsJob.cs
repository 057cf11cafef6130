using Microsoft.Extensions.Logging;
using RaePipeline.Data;
using RaePipeline.Distributed;
using RaePipeline.Latents;
using RaePipeline.Pipeline;
using RaePipeline.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Autoencoding;

/// <summary>Options of the <c>stats</c> job.</summary>
public sealed class StatsJobOptions : ShardedJobOptions
{
    public int BatchSize { get; set; } = 32;

    /// <summary>Also record the mean (the released DINOv2-B statistics have none: VP diffusion needs only unit variance).</summary>
    public bool IncludeMean { get; set; } = true;

    /// <summary>Random horizontal flips, as the official statistics (stage-2 transform).</summary>
    public bool RandomFlip { get; set; } = true;

    /// <summary>
    /// <c>element</c> (the official statistics: a mean and variance for every channel and position) or
    /// <c>channel</c> (one per channel, pooled over positions, repeated to (C, h, w)): for convolutional encoders,
    /// whose silent ReLU positions make per-element variances near 0.
    /// </summary>
    public string Per { get; set; } = StatisticsGranularity.Element;

    /// <summary>Where the statistics go, in the run folder; written as .pt and .safetensors.</summary>
    public string Output { get; set; } = "stats/stat";

    /// <summary>Batches between saves of the running sums (a killed run or shard resumes from the last save).</summary>
    public int SaveEvery { get; set; } = 50;
}

/// <summary>
/// <c>stats</c>: latent mean and variance (C, h, w), per element or pooled per channel (<c>per</c>), of the encoder over the pipeline's data, in one
/// streaming pass with float64 accumulation (exact, unlike the official momentum estimate); written as
/// <c>stat.pt</c> and <c>stat.safetensors</c> and used by the following jobs of the run. Each process's running
/// count, mean and squared deviations are saved every <c>save_every</c> batches and at its end
/// (<c>stats/stat.chunks/part-0001-of-0004.npz</c>, with a fingerprint of the settings), so a killed run resumes from
/// its last save. Under MPI the ranks measure contiguous batch ranges and merge their partial sums in rank order; as a
/// shard of an array job a process measures its shard only, and <c>--merge</c> merges the shards' saved sums in order:
/// both equal one process to 1e-10. Built by the host's service container, which gives it its logger.
/// </summary>
public sealed class StatsJob(ILogger<StatsJob> logger) : Job<StatsJobOptions>
{
    public override string Name => "stats";
    public override string Description => "latent statistics (mean/var per element or per channel) over the data, one streaming pass (shardable)";

    protected override IEnumerable<JobProblem> Validate(JobValidationContext context, StatsJobOptions options)
    {
        foreach (var problem in context.Require(Name, PipelineRole.Encoder)) yield return problem;
        if (context.Data.IsEmpty) yield return new JobProblem(null, "needs a 'data' block with the images to measure");
        if (options.BatchSize < 1) yield return new JobProblem("batch_size", "must be at least 1");
        if (options.Per is not (StatisticsGranularity.Element or StatisticsGranularity.Channel))
            yield return new JobProblem("per", $"must be '{StatisticsGranularity.Element}' or '{StatisticsGranularity.Channel}', got '{options.Per}'");
        if (options.SaveEvery < 1) yield return new JobProblem("save_every", "must be at least 1");
        foreach (var (key, message) in options.ShardProblems()) yield return new JobProblem(key, message);
    }

    protected override void Run(JobContext context, StatsJobOptions options)
    {
        using var precision = context.UsePrecision(training: false);
        var dataset = Datasets.Open(context.Data, context.PipelineDirectory, context.Seed);
        var basePath = context.RunPath(options.Output);
        var store = new ChunkStore(basePath + ".chunks", Fingerprint(context, options, dataset));
        int batches = (dataset.Count + options.BatchSize - 1) / options.BatchSize;
        var group = context.ProcessGroup;
        LatentStatisticsAccumulator accumulator;
        if (options.Merge) accumulator = MergedParts(store, batches);
        else
        {
            var selection = options.Selection();
            var part = selection.ForRank(group);
            using var local = Measure(context, options, dataset, store, part);
            if (!selection.IsWhole)
            {
                logger.LogInformation("{Shard} done: {Count} images measured, their sums are in {Folder}; run stats with --merge once every shard is done",
                    selection, local.Count, store.Folder);
                return;
            }
            // The ranks' sums merge in rank order (in memory), as --merge merges the shards' saved ones.
            accumulator = local.AcrossRanks(group);
            store.Delete([PartName(part)]);
        }
        using var _ = accumulator;
        var statistics = accumulator.ToStatistics(options.IncludeMean, perChannel: options.Per == StatisticsGranularity.Channel);
        if (group.IsMain)
        {
            statistics.Save(basePath + ".pt");
            statistics.Save(basePath + ".safetensors");
        }
        if (options.Merge) store.Delete(Directory.GetFiles(store.Folder, "part-*.npz").Select(Path.GetFileNameWithoutExtension)!);
        using (var variance = statistics.Variance.to(float64))
        {
            context.Results.Record("stats/images", accumulator.Count);
            context.Results.Record("stats/var_mean", variance.mean().item<double>());
            context.Results.Record("stats/var_min", variance.min().item<double>());
            context.Results.Record("stats/var_max", variance.max().item<double>());
        }
        context.Components.Statistics?.Dispose();
        context.Components.Statistics = statistics;
        logger.LogInformation("latent statistics of {Count} images, shape {Shape}: {Path}.pt/.safetensors; the run now normalizes latents with them",
            accumulator.Count, statistics.Shape, basePath);
    }

    /// <summary>The running sums of <paramref name="part"/>'s batches, resumed from its saved ones when they are on disk; saved as it goes.</summary>
    LatentStatisticsAccumulator Measure(JobContext context, StatsJobOptions options, IImageDataset dataset, ChunkStore store, ShardSelection part)
    {
        var plan = ShardPlan.For(part, dataset.Count, options.BatchSize);
        var name = PartName(part);
        var (local, next) = Resumed(store, name, plan);
        if (next > plan.FirstBatch)
            logger.LogInformation("resuming: {Batches} batches ({Images} images) already measured, from {Path}",
                next - plan.FirstBatch, local.Count, store.PathOf(name));
        using var latents = LatentBatches(context, options, dataset);
        using var bar = context.Progress.Start("stats", plan.ItemCount, "img");
        bar.SetDone(local.Count);
        void Save(int nextBatch)
        {
            using var batchRange = torch.tensor(new long[] { plan.FirstBatch, nextBatch, plan.EndBatch });
            var state = local.State();
            try
            {
                store.Write(name, [.. state, new("batches", batchRange)]);
            }
            finally
            {
                state.ForEach(s => s.Value.Dispose());
            }
        }
        using (torch.no_grad())
            for (int b = next; b < plan.EndBatch; b++)
            {
                context.Cancellation.ThrowIfCancellationRequested();
                using (var scope = NewDisposeScope())
                {
                    var (batch, _) = latents.Batch(b, 0, options.BatchSize);
                    local.Add(batch.cpu());
                    bar.Advance((int)batch.shape[0]);
                }
                if ((b + 1 - plan.FirstBatch) % options.SaveEvery == 0 && b + 1 < plan.EndBatch) Save(b + 1);
            }
        Save(plan.EndBatch);
        return local;
    }

    /// <summary>
    /// The raw latents of the data in order, each image or its mirror image as the seeded flips say: read from the
    /// pipeline's latent cache when it has one (filled first if needed) and this process measures all the data,
    /// else encoded batch by batch (a shard of an array job never fills a cache other shards would race for).
    /// </summary>
    static LatentBatchSource LatentBatches(JobContext context, StatsJobOptions options, IImageDataset dataset)
    {
        var prefetch = BatchPrefetch.For(context.Data);
        return ReadsCache(context, options)
            ? LatentBatchSource.FromCache(LatentCache.OpenForJob(context, dataset, options.BatchSize, context.Logger("stats")),
                options.BatchSize, context.Seed, options.RandomFlip, prefetch, context.Device, shuffle: false, dropLast: false)
            : LatentBatchSource.Encoding(dataset, context.Components.Encoder, options.BatchSize, context.Seed, options.RandomFlip,
                prefetch, context.Device, shuffle: false, dropLast: false);
    }

    static bool ReadsCache(JobContext context, StatsJobOptions options) =>
        !string.IsNullOrWhiteSpace(context.Data.LatentCache) && options.Selection().IsWhole;

    /// <summary>The saved sums of part <paramref name="name"/> and the batch to go on from; nothing saved: empty sums from the first batch.</summary>
    static (LatentStatisticsAccumulator Sums, int Next) Resumed(ChunkStore store, string name, ShardPlan plan)
    {
        using var archive = store.Open(name);
        if (archive is null || !archive.Contains("batches")) return (new LatentStatisticsAccumulator(), plan.FirstBatch);
        using var range = archive.Read("batches");
        var (first, next, end) = (range[0].item<long>(), range[1].item<long>(), range[2].item<long>());
        if (first != plan.FirstBatch || end != plan.EndBatch || next < first || next > end)
            return (new LatentStatisticsAccumulator(), plan.FirstBatch);
        return (LatentStatisticsAccumulator.FromState(archive), (int)next);
    }

    /// <summary>
    /// The saved sums of every part in the chunk folder merged in part order: the parts must be one split of the
    /// <paramref name="batches"/> batches, each finished, else the error names the folder and what is missing.
    /// </summary>
    static LatentStatisticsAccumulator MergedParts(ChunkStore store, int batches)
    {
        var files = Directory.Exists(store.Folder) ? Directory.GetFiles(store.Folder, "part-*-of-*.npz") : [];
        var counts = files.Select(f => int.Parse(Path.GetFileNameWithoutExtension(f).Split("-of-")[1], System.Globalization.CultureInfo.InvariantCulture))
            .Distinct().ToList();
        if (counts.Count != 1)
            throw new InvalidDataException(counts.Count == 0
                ? $"stats --merge: {store.Folder} holds no saved sums (part-*-of-*.npz): run the shards first"
                : $"stats --merge: {store.Folder} holds the sums of splits into {string.Join(" and ", counts)} parts: remove the ones of the split not wanted");
        int total = counts[0];
        var result = new LatentStatisticsAccumulator();
        try
        {
            for (int index = 0; index < total; index++)
            {
                var plan = ShardPlan.For(new ShardSelection(index, total, "merge"), batches, 1);
                var name = PartName(new ShardSelection(index, total, "merge"));
                using var archive = store.Open(name);
                long next = -1;
                if (archive is not null && archive.Contains("batches"))
                {
                    using var range = archive.Read("batches");
                    if (range[0].item<long>() == plan.FirstBatch && range[2].item<long>() == plan.EndBatch) next = range[1].item<long>();
                }
                if (archive is null || next != plan.EndBatch)
                    throw new InvalidDataException(
                        $"stats --merge: {store.PathOf(name)} is {(archive is null ? "missing" : next < 0 ? "of another split" : $"not finished (at batch {next} of {plan.FirstBatch}..{plan.EndBatch - 1})")}: " +
                        "run that shard (again) first");
                using var sums = LatentStatisticsAccumulator.FromState(archive);
                result.Add(sums);
            }
            return result;
        }
        catch
        {
            result.Dispose();
            throw;
        }
    }

    static string PartName(ShardSelection part) => $"part-{part.Index:D4}-of-{part.Count:D4}";

    /// <summary>What the statistics depend on: the data, the encoder, the batching, the flips and their seed, the precision.</summary>
    static string Fingerprint(JobContext context, StatsJobOptions options, IImageDataset dataset)
    {
        var encoder = context.Components.Encoder;
        using var fingerprint = new RunFingerprint()
            .Add($"stats: data {dataset.Identity}, {dataset.Count} images, batch {options.BatchSize}, random flip {options.RandomFlip}, seed {context.Seed}, latent cache {ReadsCache(context, options)}, " +
                 $"encoder {context.Components.NameOf(PipelineRole.Encoder)} {encoder.LatentShape} at {encoder.InputSize} px, precision {context.Precision}")
            .AddComponent(encoder);
        return fingerprint.Finish();
    }
}
