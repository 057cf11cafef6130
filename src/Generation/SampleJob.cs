using Microsoft.Extensions.Logging;
using RaePipeline.Abstractions;
using RaePipeline.Distributed;
using RaePipeline.Imaging;
using RaePipeline.Pipeline;
using RaePipeline.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Generation;

/// <summary>
/// <c>sample</c>: noise (per-image seeds) -> sampler over the pipeline's velocity field (guidance included) ->
/// de-normalized latents -> decoder -> images. Writes grid.png, one PNG per image and an ADM-evaluator-compatible
/// <c>samples.npz</c> (<c>arr_0</c> N x H x W x 3 uint8, <c>arr_1</c> labels, <c>index</c> image numbers).
/// </summary>
public sealed class SampleJob : Job<SampleJobOptions>
{
    public override string Name => "sample";
    public override string Description => "generate images: PNG grid, PNGs and an ADM-compatible npz (shardable)";

    protected override IEnumerable<JobProblem> Validate(JobValidationContext context, SampleJobOptions options)
    {
        foreach (var problem in context.Require(Name, PipelineRole.Denoiser, PipelineRole.Sampler, PipelineRole.Decoder))
            yield return problem;
        if (options.NumImages < 1) yield return new JobProblem("num_images", "must be at least 1");
        if (options.BatchSize < 1) yield return new JobProblem("batch_size", "must be at least 1");
        if (options.LabelSampling is not ("equal" or "random"))
            yield return new JobProblem("label_sampling", $"'{options.LabelSampling}' is not one of equal, random");
        if (options.Shard != null && !IsShard(options.Shard))
            yield return new JobProblem("shard", $"'{options.Shard}': expected i/N with 0 ≤ i < N");
    }

    static bool IsShard(string text)
    {
        try
        {
            ShardPlan.Parse(text, 1, 1);
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    protected override void Run(JobContext context, SampleJobOptions options)
    {
        using var precision = context.UsePrecision(training: false);
        var logger = context.Logger("rae.sample");
        var components = context.Components;
        var denoiser = components.Denoiser;
        var sampler = components.Sampler;
        var decoder = components.Decoder;
        var latent = denoiser.LatentShape;
        long seed = options.Seed ?? context.Seed;
        var velocity = PipelineGuidance.Velocity(components, denoiser);

        using var givenNoise = options.Noise == null ? null : new GivenNoise(context.ResolvePath(options.Noise), latent);
        int count = givenNoise?.Count ?? options.NumImages;
        using var labels = givenNoise?.Labels?.clone()
                           ?? SampleLabels.For(count, denoiser.NumClasses, options.LabelSampling, options.Classes, seed);
        var plan = ShardPlan.Parse(options.Shard, count, options.BatchSize);
        var folder = context.RunPath(options.Output, "grid.png");
        folder = Path.GetDirectoryName(folder)!;
        using var grid = sampler.TimeGrid(latent);
        logger.LogInformation(
            "sampling images {First}..{End} of {Count} ({Shard}) with {Sampler} ({Steps} grid points, {Nfe} evaluations per image), {Guidance}",
            plan.FirstItem, plan.EndItem - 1, count, options.Shard ?? "no shard", components.NameOf(PipelineRole.Sampler),
            grid.shape[0], sampler.FunctionEvaluations((int)grid.shape[0]), velocity.Description);

        if (plan.EndBatch == plan.FirstBatch)
        {
            WriteEmptyShard(context, options, plan, decoder.OutputSize, folder, count, logger);
            return;
        }
        // Velocity evaluations per batch: the sampler's calls of the field (each call evaluates every image of the
        // batch once), counted here so adaptive samplers (dopri5) report what they used.
        var evaluations = new List<int>();
        var calls = 0;
        VelocityField counted = (x, t, y) =>
        {
            calls++;
            return velocity.Field(x, t, y);
        };
        var images = new List<Tensor>();
        using var bar = context.Progress.Start("sample", plan.EndItem - plan.FirstItem, "img");
        using (torch.no_grad())
        {
            int batchIndex = plan.FirstBatch;
            foreach (var (start, end) in plan.BatchRanges())
            {
                context.Cancellation.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                var noise = givenNoise?.Noise[start..end] ?? NoiseFor(seed, start, end, latent);
                noise = noise.to(context.Device);
                var batchLabels = labels[start..end].to(context.Device);
                var generator = new Generator(SampleSeeds.For(seed, SampleSeeds.SamplerStream, batchIndex++));
                var (x, y) = velocity.Prepare(noise, batchLabels);
                calls = 0;
                var sampled = FiniteSamples.Check(velocity.Result(sampler.Sample(counted, x, y, grid.to(context.Device), generator)),
                    $"sample: the latents of images {start}..{end - 1}", "check the denoiser's weights, the guidance scale and the sampler's steps");
                evaluations.Add(calls);
                var decoded = FiniteSamples.Check(decoder.Decode(components.Statistics?.Denormalize(sampled) ?? sampled),
                    $"sample: the decoded images {start}..{end - 1}", "check the decoder's weights and the latent statistics (stat.pt)");
                var pixels = PixelConversion.ToUint8Hwc(decoded);
                images.Add(pixels.MoveToOuterDisposeScope());
                if (options.WritePngs)
                    for (int i = 0; i < end - start; i++)
                        ImageFile.WritePngRgb8(Path.Combine(folder, "png", $"{start + i:D6}.png"), pixels[i]);
                bar.Advance(end - start);
            }
        }
        using var all = torch.cat(images, 0);
        foreach (var image in images) image.Dispose();
        var shown = (int)Math.Min(options.GridImages, all.shape[0]);
        using (var gridImages = PixelConversion.FromUint8Hwc(all[..shown]))
            ImageGrid.Save(Path.Combine(folder, "grid.png"), gridImages, options.GridColumns);
        if (options.ClassGridImages > 0)
            using (var byClass = ClassRows(all, labels[plan.FirstItem..plan.EndItem], options.ClassGridImages))
                ImageGrid.Save(Path.Combine(folder, "grid_by_class.png"), byClass, options.ClassGridImages);
        using var shardLabels = labels[plan.FirstItem..plan.EndItem].contiguous();
        var npzName = WriteNpz(folder, plan, all, shardLabels);
        context.Results.Record("sample/images", all.shape[0]);
        context.Results.Record("sample/nfe", sampler.FunctionEvaluations((int)grid.shape[0]));
        context.Results.Record("sample/seconds_per_image", bar.Elapsed.TotalSeconds / Math.Max(1, all.shape[0]));
        context.Results.Record("sample/nfe", evaluations.Average());
        logger.LogInformation("velocity evaluations per image: {Mean:F1} on average over {Batches} batches (min {Min}, max {Max})",
            evaluations.Average(), evaluations.Count, evaluations.Min(), evaluations.Max());
        logger.LogInformation("wrote {Count} images to {Folder} ({Npz}, grid.png)", all.shape[0], folder, npzName);
    }

    /// <summary>The ADM npz of the plan's images (pixels (n, H, W, 3) uint8, labels (n,)); returns its file name.</summary>
    static string WriteNpz(string folder, ShardPlan plan, Tensor pixels, Tensor labels)
    {
        var npzName = plan.Count == 1 ? "samples.npz" : $"samples.shard-{plan.Index}-of-{plan.Count}.npz";
        using var index = torch.arange(plan.FirstItem, plan.EndItem, dtype: int64);
        NpzFile.Write(Path.Combine(folder, npzName), [new("arr_0", pixels), new("arr_1", labels), new("index", index)]);
        return npzName;
    }

    /// <summary>A shard with no batch (more shards than batches): a valid npz of zero images, which merge-samples joins like any other.</summary>
    static void WriteEmptyShard(JobContext context, SampleJobOptions options, ShardPlan plan, int imageSize, string folder, int count,
        ILogger logger)
    {
        using var pixels = torch.zeros([0, imageSize, imageSize, 3], dtype: uint8);
        using var labels = torch.zeros([0], dtype: int64);
        var npzName = WriteNpz(folder, plan, pixels, labels);
        context.Results.Record("sample/images", 0);
        logger.LogWarning(
            "shard {Shard} has nothing to do: {Count} images make {Batches} batches of {BatchSize}, fewer than {Shards} shards; " +
            "wrote an empty {Npz} for merge-samples", options.Shard, count, plan.Batches, plan.BatchSize, plan.Count, npzName);
    }

    /// <summary>
    /// pixels: (N, H, W, 3) uint8, labels: (N,) -> (K' * perClass, 3, H, W): for each class present, its first
    /// <paramref name="perClass"/> images, a row per class, padded with white.
    /// </summary>
    static Tensor ClassRows(Tensor pixels, Tensor labels, int perClass)
    {
        using var scope = NewDisposeScope();
        var images = PixelConversion.FromUint8Hwc(pixels);
        var rows = new List<Tensor>();
        foreach (var label in labels.cpu().data<long>().ToArray().Distinct().Order())
        {
            var members = images[labels.eq(label)][..perClass];
            rows.Add(members);
            if (members.shape[0] < perClass)
                rows.Add(torch.ones(perClass - members.shape[0], images.shape[1], images.shape[2], images.shape[3]));
        }
        return torch.cat(rows, 0).MoveToOuterDisposeScope();
    }

    /// <summary>Noise of images [start, end): each image from its own generator, so batching never changes it.</summary>
    static Tensor NoiseFor(long seed, int start, int end, Abstractions.LatentShape latent)
    {
        using var scope = NewDisposeScope();
        var noises = Enumerable.Range(start, end - start)
            .Select(i => torch.randn(latent.WithBatch(1), generator: new Generator(SampleSeeds.For(seed, SampleSeeds.NoiseStream, i))))
            .ToList();
        return torch.cat(noises, 0).MoveToOuterDisposeScope();
    }
}
