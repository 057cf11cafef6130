using Microsoft.Extensions.Logging;
using RaePipeline.Abstractions;
using RaePipeline.Distributed;
using RaePipeline.FlowMatching;
using RaePipeline.Imaging;
using RaePipeline.Pipeline;
using RaePipeline.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Generation;

/// <summary>
/// <c>sample</c>: noise (per-image seeds) -> sampler over the pipeline's velocity field (guidance included) ->
/// de-normalized latents -> decoder -> images. Writes grid.png, one PNG per image and an ADM-evaluator-compatible
/// <c>samples.npz</c> (<c>arr_0</c> N x H x W x 3 uint8, <c>arr_1</c> labels, <c>index</c> image numbers). Each
/// finished batch goes to disk at once (<see cref="SampleChunks"/>), so memory does not grow with the number of images
/// and a killed run resumes from its finished batches. Under MPI the ranks split the batches (every image's noise and
/// sampler stream come from its own seed, so the split changes nothing) and rank 0 writes what they gather; with
/// <c>--shard</c>, a Slurm array or an Indexed Job, the process samples its shard only, and <c>--merge</c> (or
/// <c>merge-samples</c>) joins the shards' npz files.
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
        foreach (var (key, message) in options.ShardProblems()) yield return new JobProblem(key, message);
    }

    /// <summary>At most this many classes (the first ones) get a row in grid_by_class.png: 1,000 rows of 256 px images would need gigabytes.</summary>
    const int MaxGridClasses = 32;

    protected override void Run(JobContext context, SampleJobOptions options)
    {
        if (options.Merge)
        {
            var output = Path.GetDirectoryName(context.RunPath(options.Output, "grid.png"))!;
            MergeSamplesJob.Merge(context, output, [], "samples.npz");
            return;
        }
        using var precision = context.UsePrecision(training: false);
        var logger = context.Logger("rae.sample");
        var group = context.ProcessGroup;
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
        var selection = options.Selection();
        var plan = ShardPlan.For(selection, count, options.BatchSize);
        var folder = Path.GetDirectoryName(context.RunPath(options.Output, "grid.png"))!;
        using var grid = sampler.TimeGrid(latent);
        logger.LogInformation(
            "sampling images {First}..{End} of {Count} ({Shard}{Ranks}) with {Sampler} ({Steps} grid points, {Nfe} evaluations per image), {Guidance}",
            plan.FirstItem, plan.EndItem - 1, count, selection, group.IsDistributed ? $", split over {group.WorldSize} ranks" : "",
            components.NameOf(PipelineRole.Sampler), grid.shape[0], sampler.FunctionEvaluations((int)grid.shape[0]), velocity.Description);

        int imageSize = decoder.OutputSize;
        var fingerprint = group.IsMain ? Fingerprint(context, options, components, velocity, seed, count, imageSize, labels, grid) : "";
        var chunks = new SampleChunks(Path.Combine(folder, "chunks"), fingerprint, imageSize);
        var batches = Enumerable.Range(plan.FirstBatch, plan.EndBatch - plan.FirstBatch).ToList();
        var finished = FinishedBatches(group, chunks, plan);
        // Every rank knows every rank's batches still to sample: round k samples the k-th of each, gathered on rank 0.
        var work = Enumerable.Range(0, group.WorldSize)
            .Select(rank => RankBatches(selection.ForRank(rank, group.WorldSize), count, options.BatchSize).Where(b => !finished.Contains(b)).ToList())
            .ToList();
        int reused = plan.ItemCount - work.Sum(w => w.Sum(b => BatchLength(plan, b)));
        if (finished.Count > 0)
            logger.LogInformation("resuming: {Batches} batches ({Images} images) already in {Folder} are kept", finished.Count, reused, chunks.Folder);

        var evaluations = new List<int>();
        var calls = 0;
        VelocityField counted = (x, t, y) =>
        {
            calls++;
            return velocity.Field(x, t, y);
        };
        using var bar = context.Progress.Start("sample", plan.ItemCount, "img");
        bar.SetDone(reused);
        using (torch.no_grad())
            for (int round = 0, rounds = work.Max(w => w.Count); round < rounds; round++)
            {
                context.Cancellation.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                int? mine = round < work[group.Rank].Count ? work[group.Rank][round] : null;
                Tensor pixels;
                if (mine is { } own)
                {
                    var (start, end) = (own * plan.BatchSize, Math.Min(count, (own + 1) * plan.BatchSize));
                    calls = 0;
                    pixels = SampleBatch(context, components, velocity, counted, givenNoise, labels, grid, seed, own, start, end, latent);
                }
                else pixels = torch.zeros([0, imageSize, imageSize, 3], dtype: uint8);
                var gathered = group.GatherEach(pixels);
                var gatheredCalls = group.GatherEach(torch.tensor(mine is null ? Array.Empty<long>() : [calls]));
                if (gathered is null || gatheredCalls is null) continue;
                for (int rank = 0; rank < group.WorldSize; rank++)
                {
                    if (round >= work[rank].Count) continue;
                    int batch = work[rank][round];
                    int start = batch * plan.BatchSize;
                    var batchPixels = gathered[rank];
                    if (options.WritePngs)
                        for (int i = 0; i < batchPixels.shape[0]; i++)
                            ImageFile.WritePngRgb8(Path.Combine(folder, "png", $"{start + i:D6}.png"), batchPixels[i]);
                    using var batchLabels = labels[start..(start + (int)batchPixels.shape[0])].contiguous();
                    chunks.Write(batch, start, batchPixels, batchLabels);
                    evaluations.Add((int)gatheredCalls[rank][0].item<long>());
                    bar.Advance(batchPixels.shape[0]);
                }
            }
        // Only the images sampled by this run count towards its speed: a resumed run kept the others from disk.
        var sampling = (Images: bar.Done - reused, Seconds: bar.Elapsed.TotalSeconds);

        if (group.IsMain)
        {
            var npzName = plan.Count == 1 ? "samples.npz" : $"samples.shard-{plan.Index}-of-{plan.Count}.npz";
            using (var shardLabels = labels[plan.FirstItem..plan.EndItem].contiguous())
            {
                chunks.WriteNpz(Path.Combine(folder, npzName), batches, plan.FirstItem, plan.EndItem, shardLabels);
                chunks.Delete(batches);
                if (plan.ItemCount > 0) WriteGrids(Path.Combine(folder, npzName), folder, options, shardLabels);
            }
            RecordResults(context, sampler, grid, plan, sampling, evaluations, logger, folder, npzName, count);
        }
        group.Barrier();
    }

    /// <summary>
    /// What the run's images depend on: its settings, the labels (exactly), the time grid, the denoiser's and decoder's
    /// weights and the latent statistics (see <see cref="RunFingerprint"/>).
    /// </summary>
    static string Fingerprint(JobContext context, SampleJobOptions options, IPipelineComponents components, GuidedVelocity velocity,
        long seed, int count, int imageSize, Tensor labels, Tensor grid)
    {
        using var fingerprint = new RunFingerprint()
            .Add($"sample: seed {seed}, images {count}, batch {options.BatchSize}, sampler {components.NameOf(PipelineRole.Sampler)}, " +
                 $"{velocity.Description}, precision {context.Precision}, image size {imageSize}")
            .AddValues(labels).AddSummary(grid).AddModule(components.Denoiser.Module).AddModule(components.Decoder.Module);
        components.Statistics?.AddTo(fingerprint);
        return fingerprint.Finish();
    }

    /// <summary>The selection's batches whose chunks are on disk as this run writes them: rank 0 looks, every rank learns.</summary>
    static HashSet<int> FinishedBatches(ProcessGroup group, SampleChunks chunks, ShardPlan plan)
    {
        var flags = new byte[plan.Batches];
        if (group.IsMain)
            foreach (var (start, end) in plan.BatchRanges())
            {
                int batch = start / plan.BatchSize;
                flags[batch] = chunks.IsFinished(batch, start, end) ? (byte)1 : (byte)0;
            }
        using var shared = torch.tensor(flags, ScalarType.Byte);
        group.Broadcast(shared);
        var result = shared.data<byte>().ToArray();
        return Enumerable.Range(0, result.Length).Where(b => result[b] != 0).ToHashSet();
    }

    static IEnumerable<int> RankBatches(ShardSelection selection, int count, int batchSize)
    {
        var plan = ShardPlan.For(selection, count, batchSize);
        return Enumerable.Range(plan.FirstBatch, plan.EndBatch - plan.FirstBatch);
    }

    static int BatchLength(ShardPlan plan, int batch) => Math.Min(plan.Items, (batch + 1) * plan.BatchSize) - batch * plan.BatchSize;

    /// <summary>Images [start, end) of batch <paramref name="batch"/>: (n, H, W, 3) uint8 on the CPU, in the caller's dispose scope.</summary>
    static Tensor SampleBatch(JobContext context, IPipelineComponents components, GuidedVelocity velocity, VelocityField counted,
        GivenNoise? givenNoise, Tensor labels, Tensor grid, long seed, int batch, int start, int end, LatentShape latent)
    {
        var noise = (givenNoise?.Noise[start..end] ?? NoiseFor(seed, start, end, latent)).to(context.Device);
        var batchLabels = labels[start..end].to(context.Device);
        var generator = new Generator(SampleSeeds.For(seed, SampleSeeds.SamplerStream, batch));
        var (x, y) = velocity.Prepare(noise, batchLabels);
        var sampled = FiniteSamples.Check(velocity.Result(components.Sampler.Sample(counted, x, y, grid.to(context.Device), generator)),
            $"sample: the latents of images {start}..{end - 1}", "check the denoiser's weights, the guidance scale and the sampler's steps");
        var decoded = FiniteSamples.Check(components.Decoder.Decode(components.Statistics?.Denormalize(sampled) ?? sampled),
            $"sample: the decoded images {start}..{end - 1}", "check the decoder's weights and the latent statistics (stat.pt)");
        return PixelConversion.ToUint8Hwc(decoded).cpu();
    }

    /// <summary>grid.png from the first images of the written npz, grid_by_class.png from the first images of each class (read in chunks).</summary>
    static void WriteGrids(string npz, string folder, SampleJobOptions options, Tensor labels)
    {
        using var archive = NpzArchive.Open(npz);
        long total = labels.shape[0];
        var shown = Math.Min(options.GridImages, total);
        if (shown > 0)
            using (var first = archive.ReadRows("arr_0", 0, shown))
            using (var gridImages = PixelConversion.FromUint8Hwc(first))
                ImageGrid.Save(Path.Combine(folder, "grid.png"), gridImages, options.GridColumns);
        if (options.ClassGridImages <= 0) return;
        var classes = labels.data<long>().ToArray().Distinct().Order().Take(MaxGridClasses).ToHashSet();
        var perClass = classes.ToDictionary(c => c, _ => new List<Tensor>());
        var wanted = classes.ToDictionary(c => c, c => Math.Min(options.ClassGridImages, labels.eq(c).sum().item<long>()));
        try
        {
            using var rows = archive.OpenRows("arr_0");
            var allLabels = labels.data<long>().ToArray();
            const int step = 256;
            for (long begin = 0; begin < total && perClass.Any(p => p.Value.Count < wanted[p.Key]); begin += step)
            {
                using var block = rows.Read(Math.Min(step, total - begin));
                for (int i = 0; i < block.shape[0]; i++)
                    if (perClass.TryGetValue(allLabels[begin + i], out var members) && members.Count < options.ClassGridImages)
                        members.Add(block[i].clone());
            }
            using var pixels = torch.stack(perClass.OrderBy(p => p.Key).SelectMany(p => p.Value).ToList());
            using var pixelLabels = torch.tensor(perClass.OrderBy(p => p.Key).SelectMany(p => p.Value.Select(_ => p.Key)).ToArray());
            using var byClass = ClassRows(pixels, pixelLabels, options.ClassGridImages);
            ImageGrid.Save(Path.Combine(folder, "grid_by_class.png"), byClass, options.ClassGridImages);
        }
        finally
        {
            foreach (var image in perClass.Values.SelectMany(m => m)) image.Dispose();
        }
    }

    /// <summary>
    /// Records <c>sample/images</c> (this shard's images), <c>sample/images_sampled</c> (those this run sampled; a
    /// resumed run kept the rest from its chunks), <c>sample/seconds_per_image</c> (the sampling loop's wall time per
    /// image this run sampled) and <c>sample/nfe</c>.
    /// </summary>
    static void RecordResults(JobContext context, ISampler sampler, Tensor grid, ShardPlan plan, (long Images, double Seconds) sampling,
        List<int> evaluations, ILogger logger, string folder, string npzName, int count)
    {
        context.Results.Record("sample/images", plan.ItemCount);
        context.Results.Record("sample/images_sampled", sampling.Images);
        if (plan.ItemCount == 0)
        {
            logger.LogWarning(
                "{Shard} has nothing to do: {Count} images make {Batches} batches of {BatchSize}, fewer than {Shards} shards; " +
                "wrote an empty {Npz} for merge-samples", $"shard {plan.Index}/{plan.Count}", count, plan.Batches, plan.BatchSize, plan.Count, npzName);
            return;
        }
        context.Results.Record("sample/nfe", sampler.FunctionEvaluations((int)grid.shape[0]));
        if (evaluations.Count > 0)
        {
            context.Results.Record("sample/seconds_per_image", sampling.Seconds / sampling.Images);
            context.Results.Record("sample/nfe", evaluations.Average());
            logger.LogInformation("velocity evaluations per image: {Mean:F1} on average over {Batches} batches (min {Min}, max {Max})",
                evaluations.Average(), evaluations.Count, evaluations.Min(), evaluations.Max());
        }
        logger.LogInformation("wrote {Count} images to {Folder} ({Npz}, grid.png)", plan.ItemCount, folder, npzName);
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
