using RaePipeline.Pipeline;
using TorchSharp;

namespace RaePipeline.Training.Tests;

/// <summary>Training stops on a NaN or diverged loss, naming the step and what to change, before anything is written.</summary>
public class LossGuardTests
{
    static TrainJobOptions Options(double lr, double clip, double maxLossRatio = 100, long steps = 6) => new()
    {
        Steps = steps, BatchSize = 8, LogEvery = 1, CheckpointEvery = 2, ClipGrad = clip, MaxLossRatio = maxLossRatio,
        Schedule = new LearningRateScheduleOptions { Type = "constant", Lr = lr },
    };

    [Fact]
    public void A_nan_loss_stops_training_at_its_step_with_what_to_change_and_no_checkpoint()
    {
        using var folder = new TemporaryFolder();
        using var components = TinyPipeline.Components();
        using (torch.no_grad()) components.Denoiser.Module.parameters().First().fill_(double.NaN);
        var context = TinyPipeline.Context(components, folder.Path, TinyPipeline.Data());

        FluentActions.Invoking(() => new TrainJob().Run(context, Options(2e-3, 1.0))).Should().Throw<TrainingDivergedException>()
            .Where(e => e.Step == 1 && e.Message.Contains("loss is NaN at step 1") && e.Message.Contains("lower the learning rate (schedule.lr)")
                        && e.Message.Contains("clip_grad"));
        TrainingCheckpoint.List(folder.Combine("train", "checkpoints")).Should().BeEmpty();
    }

    [Fact]
    public void A_run_that_diverges_without_reaching_infinity_is_stopped_by_the_loss_ratio()
    {
        using var folder = new TemporaryFolder();
        // Unguarded, lr 1000 without clipping gives finite, exploding losses for 3 steps (measured: 1.5, 8.5e8, 9.5e20;
        // NaN at step 4) and ends "successfully".
        using (var components = TinyPipeline.Components())
        {
            var context = TinyPipeline.Context(components, folder.Combine("unguarded"), TinyPipeline.Data());
            new TrainJob().Run(context, Options(1000, 0, maxLossRatio: 0, steps: 3));
            var losses = context.Results.Curve("train/loss").Select(p => p.Value).ToList();
            losses.Should().OnlyContain(l => double.IsFinite(l));
            losses.Max().Should().BeGreaterThan(1000 * losses[0], $"the losses exploded: {string.Join(", ", losses)}");
        }
        using (var components = TinyPipeline.Components())
        {
            var context = TinyPipeline.Context(components, folder.Combine("guarded"), TinyPipeline.Data());
            FluentActions.Invoking(() => new TrainJob().Run(context, Options(1000, 0, steps: 3))).Should().Throw<TrainingDivergedException>()
                .Where(e => e.Step == 2 && e.Message.Contains("at step 2 (lr 1000)") && e.Message.Contains("times the loss of a trivial prediction")
                            && e.Message.Contains("max_loss_ratio 100"));
            TrainingCheckpoint.List(folder.Combine("guarded", "train", "checkpoints")).Should().BeEmpty("step 2's update was never applied");
        }
    }

    [Fact]
    public void Messages_name_the_job_the_loss_and_the_ratio()
    {
        var guard = new LossGuard("train-decoder", 100, "lower lr");
        guard.Check(3, "L1", 49.0, 1e-4, 0.5);
        FluentActions.Invoking(() => guard.Check(3, "L1", 51.0, 1e-4, 0.5)).Should().Throw<TrainingDivergedException>()
            .WithMessage("train-decoder: the L1 is 51 at step 3 (lr 0.0001), 102 times the loss of a trivial prediction on that batch (0.5; max_loss_ratio 100): training diverged; lower lr");
        FluentActions.Invoking(() => guard.Check(4, "discriminator loss", double.PositiveInfinity, 1e-4)).Should().Throw<TrainingDivergedException>()
            .WithMessage("train-decoder: the discriminator loss is Infinity at step 4*");
        new LossGuard("train", 0, "").Check(1, "loss", 1e30, 1, 0.5); // ratio 0: only NaN and infinity stop a run
    }
}
