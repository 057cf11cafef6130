using System.Diagnostics;
using System.Globalization;
using RaePipeline.Abstractions;
using RaePipeline.Data;
using RaePipeline.FlowMatching;
using RaePipeline.Imaging;
using RaePipeline.Pipeline;
using RaePipeline.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Training;

/// <summary>
/// Stage-2 training (official <c>src/train.py</c>, with working gradient accumulation): the pipeline's denoiser
/// learns the flow-matching velocity on the encoder's latents of the pipeline's data, normalized with the pipeline's
/// latent statistics when it has them. Per optimizer step: gradients zeroed once; per micro-batch latents (from the
/// latent cache or encoded on the fly, then normalized), labels replaced
/// by the null label with probability <c>class_dropout</c>, noise and shifted times drawn, loss / k back-propagated;
/// then clipping, the scheduled learning rate, AdamW and the EMA update. Checkpoints every <c>checkpoint_every</c>
/// steps and at the end under <c>train/checkpoints</c>; <c>resume: auto</c> continues exactly from the latest
/// one. Afterwards the denoiser holds the EMA weights, so a following <c>sample</c> job samples with them.
/// </summary>
public sealed class TrainJob : Job<TrainJobOptions>
{
    public override string Name => "train";

    public override string Description =>
        "stage-2 training of the denoiser on encoder latents (flow matching, AdamW, EMA, checkpoints, resume)";

    protected override IEnumerable<JobProblem> Validate(JobValidationContext context, TrainJobOptions o)
    {
        foreach (var problem in context.Require(Name, PipelineRole.Encoder, PipelineRole.Denoiser)) yield return problem;
        if (context.Data.IsEmpty)
            yield return new JobProblem(null, "job 'train' needs a 'data' block (data.source: synthetic, folder or npz)");
        if (o.Steps < 1) yield return new JobProblem("steps", $"must be at least 1, got {o.Steps}");
        if (o.BatchSize < 1) yield return new JobProblem("batch_size", $"must be at least 1, got {o.BatchSize}");
        if (o.GradAccumulation < 1) yield return new JobProblem("grad_accumulation", $"must be at least 1, got {o.GradAccumulation}");
        else if (o.BatchSize % o.GradAccumulation != 0)
            yield return new JobProblem("batch_size", $"{o.BatchSize} is not a multiple of grad_accumulation ({o.GradAccumulation})");
        if (o.Betas is not { Length: 2 } || o.Betas.Any(b => b is < 0 or >= 1))
            yield return new JobProblem("betas", $"expected two numbers in [0, 1), got [{string.Join(", ", o.Betas ?? [])}]");
        if (o.WeightDecay < 0) yield return new JobProblem("weight_decay", $"must be zero or positive, got {o.WeightDecay}");
        if (!(o.Eps > 0)) yield return new JobProblem("eps", $"must be positive, got {o.Eps}");
        if (o.EmaDecay is < 0 or > 1) yield return new JobProblem("ema_decay", $"must lie in [0, 1], got {o.EmaDecay}");
        if (o.ClipGrad < 0) yield return new JobProblem("clip_grad", $"must be zero (off) or positive, got {o.ClipGrad}");
        if (o.ClassDropout is < 0 or >= 1) yield return new JobProblem("class_dropout", $"must lie in [0, 1), got {o.ClassDropout}");
        string? timeProblem = null;
        try
        {
            FlowMatching.TimeDistribution.Parse(o.TimeDistribution);
        }
        catch (Exception e) when (e is FormatException or ArgumentOutOfRangeException)
        {
            timeProblem = e.Message;
        }
        if (timeProblem != null) yield return new JobProblem("time_distribution", timeProblem);
        if (o.ShiftDim < 0) yield return new JobProblem("shift_dim", $"must be 0 (the latent's C h w) or positive, got {o.ShiftDim}");
        if (!(o.ShiftBase > 0)) yield return new JobProblem("shift_base", $"must be positive, got {o.ShiftBase}");
        if (string.IsNullOrWhiteSpace(o.Resume)) yield return new JobProblem("resume", "must be 'auto', 'none' or a checkpoint folder");
        if (o.CheckpointEvery < 0) yield return new JobProblem("checkpoint_every", $"must be zero (only at the end) or positive, got {o.CheckpointEvery}");
        if (o.KeepCheckpoints < 0) yield return new JobProblem("keep_checkpoints", $"must be zero (keep all) or positive, got {o.KeepCheckpoints}");
        if (o.LogEvery < 1) yield return new JobProblem("log_every", $"must be at least 1, got {o.LogEvery}");
        if (o.SampleEvery < 0) yield return new JobProblem("sample_every", $"must be zero (never) or positive, got {o.SampleEvery}");
        if (o.SampleEvery > 0 && !(context.Has(PipelineRole.Sampler) && context.Has(PipelineRole.Decoder)))
            yield return new JobProblem("sample_every", "sample grids need a 'sampler' and a 'decoder' block in the pipeline");
        if (o.SampleCount < 1) yield return new JobProblem("sample_count", $"must be at least 1, got {o.SampleCount}");
        if (o.EncodeBatchSize < 0) yield return new JobProblem("encode_batch_size", $"must be zero (the micro-batch) or positive, got {o.EncodeBatchSize}");
        foreach (var (key, message) in LearningRateSchedule.Check(o.Schedule, o.Steps)) yield return new JobProblem(key, message);
    }

    protected override void Run(JobContext context, TrainJobOptions options)
    {
        var components = context.Components;
        var denoiser = components.Denoiser;
        var encoder = components.Encoder;
        if (encoder.LatentShape != denoiser.LatentShape)
            throw new InvalidOperationException(
                $"the encoder produces latents {encoder.LatentShape} but the denoiser '{components.NameOf(PipelineRole.Denoiser)}' " +
                $"denoises {denoiser.LatentShape}: set the denoiser's input size and channels to the encoder's latent");
        var module = denoiser.Module;
        var device = context.Device;
        int microBatch = options.BatchSize / options.GradAccumulation;
        var checkpoints = Path.Combine(context.RunDirectory, "train", "checkpoints");
        using var log = new TrainingLog(context.Logger("train"), context.RunPath("train.log"));

        var dataset = Datasets.Open(context.Data, context.PipelineDirectory, context.Seed);
        if (dataset.NumClasses > denoiser.NumClasses)
            throw new InvalidOperationException(
                $"the data has {dataset.NumClasses} classes but the denoiser knows {denoiser.NumClasses} (set its num_classes)");
        var statistics = components.Statistics;
        if (statistics != null && statistics.Shape != denoiser.LatentShape)
            throw new InvalidOperationException(
                $"the latent statistics are {statistics.Shape} but the denoiser denoises {denoiser.LatentShape}: " +
                "they belong to another encoder or input size (recompute them with the stats job)");
        long batchSeed = (long)SeedDerivation.Derive(context.Seed, "train-batches");
        using var source = OpenLatents(context, options, dataset, encoder, microBatch, batchSeed, log);
        using var precision = context.UsePrecision(training: true);  // after the latent cache, which is always encoded in fp32

        var parameters = TrainingState.TrainableParameters(module);
        if (parameters.Count == 0)
            throw new InvalidOperationException($"the denoiser '{components.NameOf(PipelineRole.Denoiser)}' has no trainable parameters");
        var schedule = LearningRateSchedule.From(options.Schedule, options.Steps);
        var shift = options.ShiftDim > 0
            ? TimeShift.FromDimensions(options.ShiftDim, options.ShiftBase)
            : TimeShift.FromLatent(denoiser.LatentShape, options.ShiftBase);
        var loss = new FlowMatchingLoss(FlowMatching.TimeDistribution.Parse(options.TimeDistribution), shift);

        using var optimizer = torch.optim.AdamW(parameters.Select(p => p.Parameter), schedule.At(0),
            options.Betas[0], options.Betas[1], options.Eps, options.WeightDecay);
        using var ema = new ExponentialMovingAverage(module, options.EmaDecay);
        using var noise = new Generator(SeedDerivation.Derive(context.Seed, "train-noise"), torch.CPU);
        using var dropout = new Generator(SeedDerivation.Derive(context.Seed, "train-label-dropout"), torch.CPU);
        var facts = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["denoiser"] = components.NameOf(PipelineRole.Denoiser),
            ["encoder"] = components.NameOf(PipelineRole.Encoder),
            ["dataset"] = dataset.Identity,
            ["seed"] = context.Seed.ToString(CultureInfo.InvariantCulture),
            ["batch_size"] = options.BatchSize.ToString(CultureInfo.InvariantCulture),
            ["grad_accumulation"] = options.GradAccumulation.ToString(CultureInfo.InvariantCulture),
            ["schedule"] = schedule.ToString(),
            ["time_distribution"] = loss.Times.Name,
            ["shift"] = shift.S.ToString("R", CultureInfo.InvariantCulture),
            ["latent_statistics"] = statistics == null ? "none" : $"{statistics.Shape} mean {(statistics.Mean is null ? "none" : "given")} eps {statistics.Eps}",
        };
        var state = new TrainingState
        {
            Model = module,
            Ema = ema,
            Optimizer = optimizer,
            Parameters = parameters,
            Generators = new Dictionary<string, Generator> { ["noise"] = noise, ["label_dropout"] = dropout },
            Facts = new Dictionary<string, string>(facts),
        };
        Resume(context, options, state, checkpoints, facts, log);

        log.Info(string.Create(CultureInfo.InvariantCulture,
            $"training {components.NameOf(PipelineRole.Denoiser)} ({parameters.Sum(p => p.Parameter.numel()):N0} trainable parameters) " +
            $"on {dataset.Count} images ({dataset.NumClasses} classes, {source.BatchesPerEpoch} micro-batches per epoch) " +
            $"for {options.Steps} steps of {options.BatchSize} ({options.GradAccumulation} x {microBatch}); lr {schedule}; " +
            $"AdamW betas ({options.Betas[0]}, {options.Betas[1]}) wd {options.WeightDecay}; EMA {options.EmaDecay}; " +
            $"clip {(options.ClipGrad > 0 ? options.ClipGrad : "off")}; class dropout {options.ClassDropout}; times {loss.Times.Name}, {shift}; " +
            $"latent statistics: {(statistics == null ? "none (raw latents)" : "normalizing (z - mean) / sqrt(var + eps)")}"));

        var runTimer = Stopwatch.StartNew();
        long firstStep = state.Step;
        long lastCheckpoint = state.Step > 0 ? state.Step : -1; // a resumed run starts at its checkpoint
        long lastGrid = -1;
        double intervalLoss = 0;
        long intervalSteps = 0;
        double lastLoss = double.NaN;
        var samples = options.SampleEvery > 0 ? new SampleGridWriter(context, denoiser, ema, options.SampleCount, dataset.NumClasses) : null;

        module.train();
        using (var bar = context.Progress.Start("train", options.Steps, "step"))
        {
            bar.SetDone(state.Step);
            try
            {
                while (state.Step < options.Steps)
                {
                    context.Cancellation.ThrowIfCancellationRequested();
                    using var scope = NewDisposeScope();
                    long step = state.Step;
                    double lr = schedule.At(step);
                    foreach (var group in optimizer.ParamGroups) group.LearningRate = lr;
                    double value = GradientAccumulation.Backward(module, options.GradAccumulation, i =>
                    {
                        var (latents, labels) = source.Batch(step * options.GradAccumulation + i);
                        var z = statistics?.Normalize(latents) ?? latents;
                        var y = DropLabels(labels, dropout, options.ClassDropout, denoiser.NullLabel);
                        using var terms = loss.Compute(denoiser.Forward, z, y, noise);
                        return terms.Mean();
                    });
                    if (options.ClipGrad > 0) torch.nn.utils.clip_grad_norm_(parameters.Select(p => p.Parameter), options.ClipGrad);
                    optimizer.step();
                    ema.Update(module);
                    state.Step++;
                    lastLoss = value;
                    intervalLoss += value;
                    intervalSteps++;
                    bar.Advance(1, string.Create(CultureInfo.InvariantCulture, $"loss {value:F4} lr {lr:G3}"));

                    if (state.Step % options.LogEvery == 0 || state.Step == options.Steps)
                    {
                        double mean = intervalLoss / intervalSteps;
                        context.Results.AddPoint("train/loss", state.Step, mean);
                        double rate = (state.Step - firstStep) / Math.Max(runTimer.Elapsed.TotalSeconds, 1e-9);
                        var eta = TimeSpan.FromSeconds((options.Steps - state.Step) / Math.Max(rate, 1e-9));
                        log.Info(string.Create(CultureInfo.InvariantCulture,
                            $"step {state.Step}/{options.Steps} loss {mean:F6} lr {lr:G4} {rate:F2} it/s ETA {eta:hh\\:mm\\:ss}"));
                        intervalLoss = 0;
                        intervalSteps = 0;
                    }
                    if (options.CheckpointEvery > 0 && state.Step % options.CheckpointEvery == 0 && state.Step < options.Steps)
                        lastCheckpoint = SaveCheckpoint(checkpoints, state, options, log);
                    if (samples != null && state.Step % options.SampleEvery == 0)
                    {
                        samples.Write(context.RunPath("train", "samples", $"step-{state.Step:D8}.png"), log);
                        lastGrid = state.Step;
                    }
                }
            }
            catch (OperationCanceledException)
            {
                if (state.Step > firstStep && lastCheckpoint != state.Step)
                {
                    log.Warning($"cancelled at step {state.Step}: writing a checkpoint to resume from");
                    SaveCheckpoint(checkpoints, state, options, log);
                }
                throw;
            }
        }

        if (lastCheckpoint != state.Step && state.Step > firstStep) SaveCheckpoint(checkpoints, state, options, log);
        if (samples != null && lastGrid != state.Step)
            samples.Write(context.RunPath("train", "samples", $"step-{state.Step:D8}.png"), log);

        ema.CopyTo(module);
        module.eval();
        log.Info($"training done at step {state.Step}: the denoiser now holds the EMA weights (decay {options.EmaDecay}) for sampling");

        double seconds = runTimer.Elapsed.TotalSeconds;
        context.Results.Record("train/steps", state.Step);
        if (state.Step > firstStep)
        {
            context.Results.Record("train/final_loss", lastLoss);
            context.Results.Record("train/seconds", seconds);
            context.Results.Record("train/steps_per_second", (state.Step - firstStep) / Math.Max(seconds, 1e-9));
        }
    }

    /// <summary>labels: (B,) -> labels with each replaced by <paramref name="nullLabel"/> with probability p (seeded).</summary>
    static Tensor DropLabels(Tensor labels, Generator generator, double probability, long nullLabel)
    {
        using var scope = NewDisposeScope();
        var drop = torch.rand([labels.shape[0]], generator: generator).lt(probability).to(labels.device);
        return torch.where(drop, torch.full_like(labels, nullLabel), labels).MoveToOuterDisposeScope();
    }

    static LatentBatchSource OpenLatents(JobContext context, TrainJobOptions options, IImageDataset dataset, IEncoder encoder,
        int microBatch, long batchSeed, TrainingLog log)
    {
        var data = context.Data;
        if (string.IsNullOrWhiteSpace(data.LatentCache))
        {
            log.Info("no data.latent_cache: encoding images on the fly (set data.latent_cache to encode once)");
            return LatentBatchSource.Encoding(dataset, encoder, microBatch, batchSeed, data.RandomFlip, context.Device);
        }
        var cache = LatentCache.Open(context.ResolvePath(data.LatentCache), dataset, encoder,
            context.Components.NameOf(PipelineRole.Encoder), context.Device,
            options.EncodeBatchSize > 0 ? options.EncodeBatchSize : microBatch,
            logger: context.Logger("train"), progress: context.Progress, cancellation: context.Cancellation);
        log.Info($"latents from the cache {cache.Folder}");
        return LatentBatchSource.FromCache(cache, microBatch, batchSeed, data.RandomFlip, context.Device);
    }

    static void Resume(JobContext context, TrainJobOptions options, TrainingState state, string checkpoints,
        IReadOnlyDictionary<string, string> facts, TrainingLog log)
    {
        string? folder;
        switch (options.Resume.Trim().ToLowerInvariant())
        {
            case "none":
                if (TrainingCheckpoint.Latest(checkpoints) is { } existing)
                    log.Warning($"resume: none, although {existing} exists: starting from scratch, later checkpoints replace it");
                return;
            case "auto":
                folder = TrainingCheckpoint.Latest(checkpoints);
                if (folder == null)
                {
                    log.Info($"no checkpoint under {checkpoints}: starting from scratch");
                    return;
                }
                break;
            default:
                folder = context.ResolvePath(options.Resume);
                if (!Directory.Exists(folder))
                    throw new TrainingCheckpointException($"resume: checkpoint folder not found: {folder}", folder);
                break;
        }
        TrainingCheckpoint.Load(folder, state);
        log.Info($"resumed from {folder} at step {state.Step}");
        foreach (var (key, value) in facts)
            if (state.Facts.TryGetValue(key, out var saved) && saved != value)
                log.Warning($"resume: {key} was '{saved}' in the checkpoint and is '{value}' now: the run will not repeat the original exactly");
        state.Facts = new Dictionary<string, string>(facts);
        if (state.Step >= options.Steps)
            log.Info($"the checkpoint is at step {state.Step}, at or past steps ({options.Steps}): nothing left to train");
    }

    static long SaveCheckpoint(string checkpoints, TrainingState state, TrainJobOptions options, TrainingLog log)
    {
        var folder = TrainingCheckpoint.Save(checkpoints, state, options.KeepCheckpoints);
        log.Info($"checkpoint {folder}");
        return state.Step;
    }
}
