using Microsoft.Extensions.Logging;
using RaePipeline.Data;
using RaePipeline.Distributed;
using RaePipeline.Latents;
using RaePipeline.Pipeline;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Autoencoding;

/// <summary>Options of the <c>stats</c> job.</summary>
public sealed class StatsJobOptions
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
}

/// <summary>
/// <c>stats</c>: latent mean and variance (C, h, w), per element or pooled per channel, of the encoder over the pipeline's data, in one
/// streaming pass with float64 accumulation (exact, unlike the official momentum estimate; under MPI the ranks
/// measure contiguous batch ranges and merge their partial sums, equal to one process to 1e-10); written as
/// <c>stat.pt</c> and <c>stat.safetensors</c> and used by the following jobs of the run. Built by the host's
/// service container, which gives it its logger.
/// </summary>
public sealed class StatsJob(ILogger<StatsJob> logger) : Job<StatsJobOptions>
{
    public override string Name => "stats";
    public override string Description => "latent statistics (mean/var per element) over the data, one streaming pass";

    protected override IEnumerable<JobProblem> Validate(JobValidationContext context, StatsJobOptions options)
    {
        foreach (var problem in context.Require(Name, PipelineRole.Encoder)) yield return problem;
        if (context.Data.IsEmpty) yield return new JobProblem(null, "needs a 'data' block with the images to measure");
        if (options.BatchSize < 1) yield return new JobProblem("batch_size", "must be at least 1");
        if (options.Per is not (StatisticsGranularity.Element or StatisticsGranularity.Channel))
            yield return new JobProblem("per", $"must be '{StatisticsGranularity.Element}' or '{StatisticsGranularity.Channel}', got '{options.Per}'");
    }

    protected override void Run(JobContext context, StatsJobOptions options)
    {
        using var precision = context.UsePrecision(training: false);
        var encoder = context.Components.Encoder;
        var dataset = Datasets.Open(context.Data, context.PipelineDirectory, context.Seed);
        using var batches = ShuffledBatches.OfImages(dataset, options.BatchSize, context.Seed, shuffle: false,
            randomFlip: options.RandomFlip, dropLast: false, prefetch: BatchPrefetch.For(context.Data));
        // Under MPI each rank measures a contiguous range of the batches; the partial statistics merge exactly.
        var group = context.ProcessGroup;
        var part = ShardPlan.For(ShardSelection.Whole.ForRank(group), dataset.Count, options.BatchSize);
        using var local = new LatentStatisticsAccumulator();
        using var bar = context.Progress.Start("stats", part.ItemCount, "img");
        using (torch.no_grad())
            for (int b = part.FirstBatch; b < part.EndBatch; b++)
            {
                context.Cancellation.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                using var batch = batches.Batch(b);
                local.Add(encoder.Encode(batch.Samples.to(context.Device)).cpu());
                bar.Advance(batch.Size);
            }
        using var accumulator = local.AcrossRanks(group);
        var statistics = accumulator.ToStatistics(options.IncludeMean, perChannel: options.Per == StatisticsGranularity.Channel);
        var basePath = context.RunPath(options.Output);
        if (group.IsMain)
        {
            statistics.Save(basePath + ".pt");
            statistics.Save(basePath + ".safetensors");
        }
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
}
