using System.Globalization;
using Microsoft.Extensions.Logging;
using RaePipeline.Pipeline;

namespace RaePipeline.Training;

/// <summary>
/// Stage-2 training (official <c>src/train.py</c>, with working gradient accumulation): the pipeline's denoiser
/// learns the flow-matching velocity on the encoder's latents of the pipeline's data, normalized with the pipeline's
/// latent statistics when it has them. The pieces: <see cref="TrainingInputs"/> (checks, data, latent cache),
/// <see cref="DenoiserTrainer"/> (AdamW, EMA, schedule, generators; the optimizer step), <see cref="TrainingOutputs"/>
/// (curves, log lines, checkpoints, sample grids). Checkpoints every <c>checkpoint_every</c> steps and at the end
/// under <c>train/checkpoints</c>; <c>resume: auto</c> continues exactly from the newest intact one. Afterwards the
/// denoiser holds the EMA weights, so a following <c>sample</c> job samples with them. Under MPI the run is
/// data-parallel (<see cref="DenoiserTrainer"/>): every rank computes its slice of each global batch, rank 0 writes
/// the checkpoints, curves and grids, and a checkpoint resumes under any number of ranks.
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
        if (!(o.MaxLossRatio >= 0)) yield return new JobProblem("max_loss_ratio", $"must be zero (off) or positive, got {o.MaxLossRatio}");
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
        var log = context.Logger(Name);
        var components = context.Components;
        var denoiser = components.Denoiser;
        using var inputs = TrainingInputs.Open(context, options, log);
        using var precision = context.UsePrecision(training: true);  // after the latent cache, which is always encoded in fp32
        using var trainer = new DenoiserTrainer(denoiser, components.NameOf(PipelineRole.Denoiser), options, inputs, context.Seed,
            context.ProcessGroup);
        var facts = trainer.Facts(components.NameOf(PipelineRole.Denoiser), components.NameOf(PipelineRole.Encoder),
            inputs.Dataset.Identity, context.Seed);
        Resume(context, options, trainer.State, facts, log);
        TrainingCurves.Restore(context, TrainingOutputs.CurvePrefix, trainer.State.Step);
        log.LogInformation("{Plan}", Plan(components, options, inputs, trainer));

        var samples = options.SampleEvery > 0
            ? new SampleGridWriter(context, denoiser, trainer.Ema, options.SampleCount, inputs.Dataset.NumClasses)
            : null;
        var outputs = new TrainingOutputs(context, options, trainer, samples, log);
        Loop(context, options, trainer, outputs);
        outputs.Finished();

        trainer.Ema.CopyTo(denoiser.Module);
        denoiser.Module.eval();
        log.LogInformation("training done at step {Step}: the denoiser now holds the EMA weights (decay {Decay}) for sampling",
            trainer.State.Step, options.EmaDecay);
    }

    /// <summary>Optimizer steps up to <c>steps</c>, each followed by its outputs; a cancelled run writes a checkpoint first.</summary>
    static void Loop(JobContext context, TrainJobOptions options, DenoiserTrainer trainer, TrainingOutputs outputs)
    {
        trainer.State.Model.train();
        using var bar = context.Progress.Start("train", options.Steps, "step");
        bar.SetDone(trainer.State.Step);
        try
        {
            while (trainer.State.Step < options.Steps)
            {
                context.Cancellation.ThrowIfCancellationRequested();
                var (loss, lr) = trainer.Step();
                bar.Advance(1, string.Create(CultureInfo.InvariantCulture, $"loss {loss:F4} lr {lr:G3}"));
                outputs.AfterStep(loss, lr);
            }
        }
        catch (OperationCanceledException)
        {
            outputs.Interrupted();
            throw;
        }
    }

    static string Plan(IPipelineComponents components, TrainJobOptions options, TrainingInputs inputs, DenoiserTrainer trainer) =>
        string.Create(CultureInfo.InvariantCulture,
            $"training {components.NameOf(PipelineRole.Denoiser)} ({trainer.TrainableParameters:N0} trainable parameters) " +
            $"on {inputs.Dataset.Count} images ({inputs.Dataset.NumClasses} classes, {inputs.BatchesPerEpoch} micro-batches per epoch) " +
            $"for {options.Steps} steps of {options.BatchSize} ({options.GradAccumulation} x {inputs.MicroBatchSize}); lr {trainer.Schedule}; " +
            $"AdamW betas ({options.Betas[0]}, {options.Betas[1]}) wd {options.WeightDecay}; EMA {options.EmaDecay}; " +
            $"clip {(options.ClipGrad > 0 ? options.ClipGrad : "off")}; class dropout {options.ClassDropout}; " +
            $"times {trainer.Loss.Times.Name}, {trainer.Loss.Shift}; max loss ratio {(options.MaxLossRatio > 0 ? options.MaxLossRatio : "off")}; " +
            $"latent statistics: {(inputs.Statistics == null ? "none (raw latents)" : "normalizing (z - mean) / sqrt(var + eps)")}");

    /// <summary>
    /// Restores <paramref name="state"/> as <c>resume</c> says: <c>auto</c> from the newest intact checkpoint of the
    /// run (stepping back over damaged ones), a folder from that one, <c>none</c> from nothing. Leftovers of a
    /// checkpoint write that was killed are removed first (by rank 0, the others waiting). Every rank loads the same
    /// checkpoint (it holds nothing per rank), which is checked.
    /// </summary>
    static void Resume(JobContext context, TrainJobOptions options, TrainingState state, IReadOnlyDictionary<string, string> facts, ILogger log)
    {
        var checkpoints = TrainingOutputs.CheckpointFolder(context);
        var group = context.ProcessGroup;
        if (group.IsMain) // the rank that writes checkpoints clears what a killed write left
            foreach (var removed in TrainingCheckpoint.RemoveUnfinished(checkpoints))
                log.LogWarning("removed {Folder}, left by a checkpoint write that did not finish", removed);
        group.Barrier();
        Load(context, options, state, facts, log, checkpoints);
        RankAgreement.RequireSameStep(group, state.Step, checkpoints);
    }

    static void Load(JobContext context, TrainJobOptions options, TrainingState state, IReadOnlyDictionary<string, string> facts, ILogger log,
        string checkpoints)
    {
        string? folder;
        switch (options.Resume.Trim().ToLowerInvariant())
        {
            case "none":
                if (TrainingCheckpoint.Latest(checkpoints) is { } existing)
                    log.LogWarning("resume: none, although {Existing} exists: starting from scratch, later checkpoints replace it", existing);
                return;
            case "auto":
                folder = TrainingCheckpoint.LoadLatestIntact(checkpoints, f => TrainingCheckpoint.Load(f, state), log);
                if (folder == null)
                {
                    log.LogInformation("no checkpoint under {Folder}: starting from scratch", checkpoints);
                    return;
                }
                break;
            default:
                folder = context.ResolvePath(options.Resume);
                if (!Directory.Exists(folder))
                    throw new TrainingCheckpointException($"resume: checkpoint folder not found: {folder}", folder);
                TrainingCheckpoint.Load(folder, state);
                break;
        }
        log.LogInformation("resumed from {Folder} at step {Step}", folder, state.Step);
        foreach (var (key, value) in facts)
            if (state.Facts.TryGetValue(key, out var saved) && saved != value)
                log.LogWarning("resume: {Key} was '{Saved}' in the checkpoint and is '{Value}' now: the run will not repeat the original exactly",
                    key, saved, value);
        state.Facts = new Dictionary<string, string>(facts);
        if (state.Step >= options.Steps)
            log.LogInformation("the checkpoint is at step {Step}, at or past steps ({Steps}): nothing left to train", state.Step, options.Steps);
    }
}
