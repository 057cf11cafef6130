using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using RaePipeline.Pipeline;

namespace RaePipeline.Training;

/// <summary>
/// What a stage-2 run writes as it goes, each on its schedule: a point of the <c>train/loss</c> curve (the mean over
/// the interval) and a log line with rate and ETA every <c>log_every</c> steps; a checkpoint every
/// <c>checkpoint_every</c> steps, the curves saved just before it so that they always reach the newest checkpoint; a
/// sample grid every <c>sample_every</c> steps; and at the end, or when the run is cancelled, the last checkpoint and
/// grid. Only the main rank of a process group writes files (every rank keeps the curves and numbers).
/// </summary>
public sealed class TrainingOutputs(JobContext context, TrainJobOptions options, DenoiserTrainer trainer, SampleGridWriter? samples, ILogger log)
{
    public const string CurvePrefix = "train/";

    readonly Stopwatch clock = Stopwatch.StartNew();
    readonly bool writes = context.ProcessGroup.IsMain;
    readonly long firstStep = trainer.State.Step;
    long lastCheckpoint = trainer.State.Step; // a resumed run starts at its checkpoint
    long lastGrid = -1;
    double intervalLoss;
    long intervalSteps;
    double lastLoss = double.NaN;

    TrainingState State => trainer.State;

    /// <summary>Where the run's checkpoints live.</summary>
    public static string CheckpointFolder(JobContext context) => Path.Combine(context.RunDirectory, "train", "checkpoints");

    /// <summary>After optimizer step <c>State.Step</c>, whose batch had mean loss <paramref name="loss"/> at learning rate <paramref name="lr"/>.</summary>
    public void AfterStep(double loss, double lr)
    {
        long step = State.Step;
        lastLoss = loss;
        intervalLoss += loss;
        intervalSteps++;
        if (step % options.LogEvery == 0 || step == options.Steps)
        {
            double mean = intervalLoss / intervalSteps;
            context.Results.AddPoint(CurvePrefix + "loss", step, mean);
            double rate = (step - firstStep) / Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
            var eta = TimeSpan.FromSeconds((options.Steps - step) / Math.Max(rate, 1e-9));
            log.LogInformation("{Line}", string.Create(CultureInfo.InvariantCulture,
                $"step {step}/{options.Steps} loss {mean:F6} lr {lr:G4} {rate:F2} it/s ETA {eta:hh\\:mm\\:ss}"));
            intervalLoss = 0;
            intervalSteps = 0;
        }
        if (options.CheckpointEvery > 0 && step % options.CheckpointEvery == 0 && step < options.Steps) SaveCheckpoint();
        if (samples != null && step % options.SampleEvery == 0) WriteGrid();
    }

    /// <summary>The run was cancelled: a checkpoint of the steps done since the last one, to resume from.</summary>
    public void Interrupted()
    {
        if (State.Step == lastCheckpoint) return;
        log.LogWarning("cancelled at step {Step}: writing a checkpoint to resume from", State.Step);
        SaveCheckpoint();
    }

    /// <summary>The last checkpoint and grid, and the run's numbers (<c>train/steps</c>, final loss, speed).</summary>
    public void Finished()
    {
        if (State.Step != lastCheckpoint) SaveCheckpoint();
        if (samples != null && lastGrid != State.Step) WriteGrid();
        double seconds = clock.Elapsed.TotalSeconds;
        context.Results.Record("train/steps", State.Step);
        if (State.Step == firstStep) return;
        context.Results.Record("train/final_loss", lastLoss);
        context.Results.Record("train/seconds", seconds);
        context.Results.Record("train/steps_per_second", (State.Step - firstStep) / Math.Max(seconds, 1e-9));
    }

    void SaveCheckpoint()
    {
        lastCheckpoint = State.Step;
        if (!writes) return;
        TrainingCurves.Save(context);
        var folder = TrainingCheckpoint.Save(CheckpointFolder(context), State, options.KeepCheckpoints);
        log.LogInformation("checkpoint {Folder}", folder);
    }

    void WriteGrid()
    {
        lastGrid = State.Step;
        if (!writes) return;
        samples!.Write(context.RunPath("train", "samples", string.Create(CultureInfo.InvariantCulture, $"step-{State.Step:D8}.png")), log);
    }
}
