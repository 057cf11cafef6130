using Microsoft.Extensions.Logging;
using RaePipeline.Data;
using RaePipeline.Distributed;
using System.Globalization;
using RaePipeline.Pipeline;
using RaePipeline.Training;
using RaePipeline.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.DecoderTraining;

/// <summary>
/// <c>train-decoder</c>: trains the pipeline's decoder on its frozen encoder's latents (RAE stage 1) with noise
/// augmentation, L1 + LPIPS and a DINO-discriminator GAN; writes reconstruction grids, resumable checkpoints, loss
/// curves and the EMA decoder, and leaves the EMA weights in the in-memory decoder for the jobs after it. Under MPI
/// the run is data-parallel (<see cref="DecoderTrainer"/>): every rank computes its slice of each global batch, rank 0
/// writes the checkpoints, curves, grids and the decoder, and a checkpoint resumes under any number of ranks.
/// </summary>
public sealed class TrainDecoderJob : Job<TrainDecoderOptions>
{
    public override string Name => "train-decoder";

    public override string Description =>
        "train the decoder on the frozen encoder's latents (noise augmentation, L1 + LPIPS + DINO-discriminator GAN, EMA)";

    protected override IEnumerable<JobProblem> Validate(JobValidationContext context, TrainDecoderOptions options)
    {
        foreach (var problem in context.Require(Name, PipelineRole.Encoder, PipelineRole.Decoder)) yield return problem;
        if (context.Data.IsEmpty)
            yield return new JobProblem(null, "job 'train-decoder' needs a 'data' block with the training images");
        else if (context.Describe(PipelineRole.Decoder)?.ImageSize is { } size && size != context.Data.ImageSize)
            yield return new JobProblem(null,
                $"the data gives {context.Data.ImageSize}px images but the decoder makes {size}px images; set data.image_size to {size}");
        if (options.Epochs < 0) yield return new JobProblem("epochs", $"epochs must be 0 (use steps) or positive, got {options.Epochs}");
        if (options.Epochs == 0 && options.Steps < 1) yield return new JobProblem("steps", $"steps must be positive, got {options.Steps}");
        if (options.BatchSize < 1) yield return new JobProblem("batch_size", $"batch_size must be positive, got {options.BatchSize}");
        if (!DecoderTrainingPlan.IsKnownUnit(options.Unit))
            yield return new JobProblem("unit", $"unit must be 'steps' or 'epochs', got '{options.Unit}'");
        if (!(options.Lr > 0)) yield return new JobProblem("lr", $"lr must be positive, got {options.Lr}");
        if (options.FinalLr < 0 || options.FinalLr > options.Lr)
            yield return new JobProblem("final_lr", $"final_lr must be in [0, lr = {options.Lr}], got {options.FinalLr}");
        if (options.Betas.Length != 2 || options.Betas.Any(b => b is < 0 or >= 1))
            yield return new JobProblem("betas", $"betas must be two numbers in [0, 1), got [{string.Join(", ", options.Betas)}]");
        if (options.EmaDecay is < 0 or > 1) yield return new JobProblem("ema_decay", $"ema_decay must be in [0, 1], got {options.EmaDecay}");
        if (!(options.NoiseTau >= 0)) yield return new JobProblem("noise_tau", $"noise_tau must be >= 0, got {options.NoiseTau}");
        if (options.NoiseSpace is not (NoiseSpaces.Raw or NoiseSpaces.Normalized))
            yield return new JobProblem("noise_space", $"noise_space must be '{NoiseSpaces.Raw}' or '{NoiseSpaces.Normalized}', got '{options.NoiseSpace}'");
        if (options.Warmup < 0 || options.LpipsStart < 0 || options.GanStart < 0 || options.DiscUpdateStart < 0)
            yield return new JobProblem("warmup", "warmup, lpips_start, gan_start and disc_update_start must be >= 0");
        if (options.DiscWeight < 0) yield return new JobProblem("disc_weight", $"disc_weight must be >= 0, got {options.DiscWeight}");
        if (options.DiscWeight > 0 && options.DiscUpdates < 1)
            yield return new JobProblem("disc_updates", $"disc_updates must be positive, got {options.DiscUpdates}");
        if (options.DiscWeight > 0)
            foreach (var (key, message) in options.Discriminator.Features.Problems())
                yield return new JobProblem($"discriminator.features.{key}", message);
        if (options.DiscWeight > 0 && (options.Discriminator.KernelSize < 1 || options.Discriminator.KernelSize % 2 == 0))
            yield return new JobProblem("discriminator.kernel_size", $"kernel_size must be odd and positive, got {options.Discriminator.KernelSize}");
        if (options.Augment.Cutout is < 0 or >= 1)
            yield return new JobProblem("augment.cutout", $"augment.cutout must be in [0, 1), got {options.Augment.Cutout}");
        if (options.GridImages < 1) yield return new JobProblem("grid_images", $"grid_images must be positive, got {options.GridImages}");
        if (!(options.MaxLossRatio >= 0)) yield return new JobProblem("max_loss_ratio", $"max_loss_ratio must be zero (off) or positive, got {options.MaxLossRatio}");
        if (string.IsNullOrWhiteSpace(options.Resume))
            yield return new JobProblem("resume", "resume must be 'auto', 'none' or a decoder checkpoint folder");
    }

    protected override void Run(JobContext context, TrainDecoderOptions options)
    {
        using var precision = context.UsePrecision(training: true);
        var log = context.Logger(Name);
        var (batches, plan) = OpenData(context, options, log);
        using var loadingAhead = batches; // stops the batches' background loading when the job ends
        var lpips = OpenLpips(context, options, log);
        var discriminator = OpenDiscriminator(context, options, log);
        var group = context.ProcessGroup;
        if (options.BatchSize < group.WorldSize)
            throw new InvalidOperationException(
                $"train-decoder: a batch of {options.BatchSize} images cannot give each of the {group.WorldSize} ranks one: raise batch_size or lower the number of ranks");
        using var noiseScale = NoiseScale(context, options, log);
        using var trainer = new DecoderTrainer(context.Components.Encoder, context.Components.Decoder, options, plan, lpips, discriminator,
            context.Device, context.Seed, group, BatchSlice.Of(options.BatchSize, group), new NoiseAugmentation(options.NoiseTau, noiseScale));
        var checkpoints = new DecoderCheckpoints(Path.Combine(context.RunDirectory, "train-decoder", "checkpoints"), options.KeepCheckpoints);
        var facts = Facts(options, plan);
        long start = Resume(checkpoints, trainer, options, facts, context, log);
        TrainingCurves.Restore(context, CurvePrefix, start);

        var (gridBatch, gridLatents) = batches.Batch(0, 0, options.GridImages);
        gridLatents?.Dispose();
        using var _ = gridBatch;
        var gridImages = gridBatch.Samples;
        var last = Loop(context, options, trainer, batches, checkpoints, facts, gridImages, start);
        Finish(context, options, trainer, checkpoints, facts, gridImages, start, last, log);
    }

    const string CurvePrefix = "train-decoder/";

    /// <summary>The per-element scale of the noise: null on raw latents, sqrt(var + eps) of the latent statistics in normalized units.</summary>
    static Tensor? NoiseScale(JobContext context, TrainDecoderOptions options, ILogger log)
    {
        if (options.NoiseSpace != NoiseSpaces.Normalized || options.NoiseTau == 0) return null;
        var statistics = context.Components.Statistics
            ?? throw new InvalidOperationException(
                "train-decoder: noise_space: normalized scales the noise by the latent statistics, and this run has none: " +
                "put a stats job before train-decoder or name a statistics file (statistics: ...)");
        if (statistics.Shape != context.Components.Encoder.LatentShape)
            throw new InvalidOperationException(
                $"train-decoder: the latent statistics are {statistics.Shape} but the encoder makes {context.Components.Encoder.LatentShape} latents");
        log.LogInformation("train-decoder: noise_tau {Tau} in normalized units (scaled by the latent statistics' sqrt(var + eps))", options.NoiseTau);
        return (statistics.Variance + statistics.Eps).sqrt().to(float32);
    }

    /// <summary>
    /// The training images (in a fixed seeded order, no flips) with their latents from the cache when the pipeline
    /// has one (<c>data.latent_cache</c>), and the step plan, checked against the encoder and decoder.
    /// </summary>
    static (DecoderTrainingBatches Batches, DecoderTrainingPlan Plan) OpenData(JobContext context, TrainDecoderOptions options, ILogger log)
    {
        var encoder = context.Components.Encoder;
        var decoder = context.Components.Decoder;
        if (decoder.LatentShape != encoder.LatentShape)
            throw new InvalidOperationException(
                $"train-decoder: the decoder decodes latents {decoder.LatentShape} but the encoder makes {encoder.LatentShape}");
        var dataset = Datasets.Open(context.Data, context.PipelineDirectory, context.Seed);
        if (dataset.ImageSize != decoder.OutputSize)
            throw new InvalidOperationException(
                $"train-decoder: the data gives {dataset.ImageSize}px images but the decoder makes {decoder.OutputSize}px images; " +
                $"set data.image_size to {decoder.OutputSize}");
        // Stage 1 trains without flips (the recipe's transform is resize + random crop, no flip).
        if (context.Data.RandomFlip)
            log.LogInformation("train-decoder: data.random_flip is not applied: the stage-1 recipe trains the decoder without flips");
        var cache = string.IsNullOrWhiteSpace(context.Data.LatentCache) ? null : LatentCache.OpenForJob(context, dataset, options.BatchSize, log);
        var batches = DecoderTrainingBatches.Open(dataset, cache, options.BatchSize, context.Seed, BatchPrefetch.For(context.Data));
        var plan = DecoderTrainingPlan.From(options, batches.BatchesPerEpoch);
        log.LogInformation("train-decoder: {Plan}; {Images} images from {Data}, latents {Source}", plan, dataset.Count, dataset.Identity,
            batches.FromCache ? "from the cache" : "encoded every step (set data.latent_cache to encode once)");
        return (batches, plan);
    }

    /// <summary>Steps from <paramref name="start"/> to the plan's end with their curves, grids and checkpoints; returns the last step's losses.</summary>
    static DecoderStepLosses? Loop(JobContext context, TrainDecoderOptions options, DecoderTrainer trainer, DecoderTrainingBatches batches,
        DecoderCheckpoints checkpoints, IReadOnlyDictionary<string, string> facts, Tensor gridImages, long start)
    {
        long total = trainer.Plan.TotalSteps;
        using var progress = context.Progress.Start("train-decoder", total, "step");
        progress.SetDone(start);
        DecoderStepLosses? last = null;
        for (long step = start; step < total; step++)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            var (images, latents) = batches.Batch(step, trainer.Slice.Start, trainer.Slice.End);
            using (images)
            using (latents)
                last = trainer.Step(step, images.Samples, latents?.Samples);
            long done = step + 1;
            if (done == 1 || done % Math.Max(1, options.LogEvery) == 0 || done == total) Record(context.Results, done, last);
            if (options.GridEvery > 0 && done % options.GridEvery == 0 && context.ProcessGroup.IsMain)
                trainer.WriteReconstructionGrid(context.RunPath("train-decoder", "grids", $"step-{done:D7}.png"), gridImages);
            if (options.CheckpointEvery > 0 && done % options.CheckpointEvery == 0 && done < total)
                SaveCheckpoint(context, checkpoints, trainer, done, facts);
            progress.Advance(1, last.Status());
        }
        return last;
    }

    /// <summary>The last checkpoint and grid; the EMA weights into the decoder and to <c>output</c>; the final losses.</summary>
    static void Finish(JobContext context, TrainDecoderOptions options, DecoderTrainer trainer, DecoderCheckpoints checkpoints,
        IReadOnlyDictionary<string, string> facts, Tensor gridImages, long start, DecoderStepLosses? last, ILogger log)
    {
        if (start < trainer.Plan.TotalSteps) SaveCheckpoint(context, checkpoints, trainer, trainer.Plan.TotalSteps, facts);
        bool writes = context.ProcessGroup.IsMain;
        if (writes) trainer.WriteReconstructionGrid(context.RunPath("train-decoder", "grids", "final.png"), gridImages);
        trainer.UseEmaWeights();
        log.LogInformation("train-decoder: the decoder now holds its EMA weights (decay {Decay}); later jobs of this run decode with them",
            options.EmaDecay);
        if (writes)
        {
            var output = context.RunPath(options.Output);
            SafeTensorsFile.Write(output, context.Components.Decoder.Module.state_dict());
            log.LogInformation("train-decoder: EMA decoder weights written to {Path}", output);
        }
        if (last == null) return;
        context.Results.Record("train-decoder/final_l1", last.L1);
        context.Results.Record("train-decoder/final_loss", last.Total);
    }

    /// <summary>The curves first, so that on disk they always reach the newest checkpoint; only the main rank writes.</summary>
    static void SaveCheckpoint(JobContext context, DecoderCheckpoints checkpoints, DecoderTrainer trainer, long step,
        IReadOnlyDictionary<string, string> facts)
    {
        if (!context.ProcessGroup.IsMain) return; // one rank writes
        TrainingCurves.Save(context);
        checkpoints.Save(trainer, step, facts);
    }

    static void Record(RunResults results, long step, DecoderStepLosses losses)
    {
        results.AddPoint("train-decoder/l1", step, losses.L1);
        results.AddPoint("train-decoder/loss", step, losses.Total);
        if (!double.IsNaN(losses.Lpips)) results.AddPoint("train-decoder/lpips", step, losses.Lpips);
        if (!double.IsNaN(losses.Gan))
        {
            results.AddPoint("train-decoder/gan", step, losses.Gan);
            results.AddPoint("train-decoder/adaptive_weight", step, losses.AdaptiveWeight);
        }
        if (!double.IsNaN(losses.DiscriminatorLoss))
        {
            results.AddPoint("train-decoder/disc_loss", step, losses.DiscriminatorLoss);
            results.AddPoint("train-decoder/disc_accuracy", step, losses.DiscriminatorAccuracy);
        }
    }

    static Lpips? OpenLpips(JobContext context, TrainDecoderOptions options, ILogger log)
    {
        if (!options.Lpips || options.LpipsWeight <= 0)
        {
            log.LogWarning("train-decoder: LPIPS is switched off (lpips: false); the RAE recipe trains with L1 + 1.0 * LPIPS, " +
                           "so reconstructions will be blurrier than the paper's");
            return null;
        }
        var lpips = Lpips.Load(context.ResolvePath(options.LpipsVgg), context.ResolvePath(options.LpipsLinear), context.Device);
        log.LogInformation("train-decoder: LPIPS (VGG16) from {Vgg} and {Linear}, weight {Weight}", options.LpipsVgg, options.LpipsLinear, options.LpipsWeight);
        return lpips;
    }

    static DinoDiscriminator? OpenDiscriminator(JobContext context, TrainDecoderOptions options, ILogger log)
    {
        if (options.DiscWeight <= 0)
        {
            log.LogWarning("train-decoder: the GAN is switched off (disc_weight: 0); the RAE recipe uses a DINO discriminator");
            return null;
        }
        var d = options.Discriminator;
        var networkOptions = d.Features;
        DinoFeatureNetwork features;
        if (d.Random)
        {
            using var generator = new Generator(SeedDerivation.Derive(context.Seed, "discriminator-features"));
            features = new DinoFeatureNetwork(networkOptions, generator);
            log.LogWarning("train-decoder: the discriminator looks through a RANDOMLY INITIALIZED ViT ({Sizes}), not DINO: " +
                           "fine for tests and smoke runs, not for real training (set discriminator.weights and random: false)", networkOptions);
        }
        else
        {
            features = DinoFeatureNetwork.Load(context.ResolvePath(d.Weights), networkOptions);
            log.LogInformation("train-decoder: discriminator features from DINO weights {Path} ({Sizes})", d.Weights, networkOptions);
        }
        try
        {
            using var generator = new Generator(SeedDerivation.Derive(context.Seed, "discriminator-heads"));
            return new DinoDiscriminator(features, d.KernelSize, generator: generator).MoveTo(context.Device);
        }
        catch
        {
            features.Dispose();
            throw;
        }
    }

    /// <summary>What a resumed run must agree on with the run that wrote the checkpoint.</summary>
    static Dictionary<string, string> Facts(TrainDecoderOptions options, DecoderTrainingPlan plan) => new(StringComparer.Ordinal)
    {
        ["total_steps"] = plan.TotalSteps.ToString(CultureInfo.InvariantCulture),
        ["batch_size"] = options.BatchSize.ToString(CultureInfo.InvariantCulture),
        ["gan"] = (options.DiscWeight > 0).ToString(),
    };

    /// <summary>
    /// Restores the trainer as <c>resume</c> says (<c>auto</c>: the newest intact checkpoint, stepping back over damaged
    /// ones; a folder; <c>none</c>) after removing what a killed checkpoint write left (rank 0, the others waiting);
    /// returns the steps done. Every rank loads the same checkpoint (it holds nothing per rank), which is checked.
    /// </summary>
    static long Resume(DecoderCheckpoints checkpoints, DecoderTrainer trainer, TrainDecoderOptions options,
        IReadOnlyDictionary<string, string> facts, JobContext context, ILogger log)
    {
        var group = context.ProcessGroup;
        if (group.IsMain) // the rank that writes checkpoints clears what a killed write left
            foreach (var removed in checkpoints.RemoveUnfinished())
                log.LogWarning("train-decoder: removed {Folder}, left by a checkpoint write that did not finish", removed);
        group.Barrier();
        long step = Load(checkpoints, trainer, options, facts, context, log);
        RankAgreement.RequireSameStep(group, step, checkpoints.Directory);
        return step;
    }

    static long Load(DecoderCheckpoints checkpoints, DecoderTrainer trainer, TrainDecoderOptions options,
        IReadOnlyDictionary<string, string> facts, JobContext context, ILogger log)
    {
        if (options.Resume.Equals("none", StringComparison.OrdinalIgnoreCase)) return 0;
        string folder;
        long step;
        IReadOnlyDictionary<string, string> saved;
        if (options.Resume.Equals("auto", StringComparison.OrdinalIgnoreCase))
        {
            if (checkpoints.LoadLatestIntact(trainer, log) is not { } latest) return 0;
            (folder, step, saved) = latest;
        }
        else
        {
            folder = context.ResolvePath(options.Resume);
            if (!Directory.Exists(folder))
                throw new TrainingCheckpointException($"train-decoder: resume checkpoint folder {folder} does not exist", folder);
            (step, saved) = DecoderCheckpoints.Load(trainer, folder);
        }
        foreach (var (key, value) in facts)
            if (saved.TryGetValue(key, out var before) && before != value)
                throw new TrainingCheckpointException(
                    $"train-decoder: {folder} was written by a run with {key} = {before}, this run has {value}; " +
                    "resume with the same settings, or start afresh with resume: none (or another output folder)", folder);
        log.LogInformation("train-decoder: resumed from {Folder} at step {Step}", folder, step);
        return step;
    }
}
