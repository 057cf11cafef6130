using RaePipeline.Training;

namespace RaePipeline.Training.Tests;

public class LearningRateScheduleTests
{
    [Fact]
    public void Constant_gives_the_base_rate_everywhere()
    {
        var schedule = LearningRateSchedule.Constant(2e-4);
        foreach (var step in new long[] { 0, 1, 1000, 1_000_000 }) schedule.At(step).Should().Be(2e-4);
    }

    [Fact]
    public void Linear_holds_then_decays_to_the_final_rate()
    {
        // The official stage-2 schedule with 10 steps per "epoch": hold 2e-4 for 40 epochs, reach 2e-5 at epoch 800.
        var schedule = LearningRateSchedule.Linear(2e-4, 2e-5, warmupSteps: 400, decayEndStep: 8000, warmupFromZero: false);
        schedule.At(0).Should().Be(2e-4);
        schedule.At(399).Should().Be(2e-4);
        schedule.At(400).Should().Be(2e-4);
        schedule.At(4200).Should().BeApproximately(1.1e-4, 1e-15); // halfway: (2e-4 + 2e-5) / 2
        schedule.At(7999).Should().BeApproximately(2e-4 - 1.8e-4 * 7599 / 7600, 1e-15);
        schedule.At(8000).Should().Be(2e-5);
        schedule.At(100_000).Should().Be(2e-5);
    }

    [Fact]
    public void Linear_with_warmup_from_zero_ramps_up_first()
    {
        var schedule = LearningRateSchedule.Linear(1e-3, 0, warmupSteps: 10, decayEndStep: 30, warmupFromZero: true);
        schedule.At(0).Should().Be(0);
        schedule.At(5).Should().BeApproximately(5e-4, 1e-18);
        schedule.At(10).Should().Be(1e-3);
        schedule.At(20).Should().BeApproximately(5e-4, 1e-18);
        schedule.At(30).Should().Be(0);
    }

    [Fact]
    public void Cosine_ramps_up_then_follows_half_a_cosine()
    {
        // Stage-1 recipe shape: warmup 1 epoch, cosine from 2e-4 to 2e-5 by epoch 16 (100 steps per epoch here).
        var schedule = LearningRateSchedule.Cosine(2e-4, 2e-5, warmupSteps: 100, decayEndStep: 1600);
        schedule.At(0).Should().Be(0);
        schedule.At(50).Should().BeApproximately(1e-4, 1e-18);
        schedule.At(100).Should().BeApproximately(2e-4, 1e-18);
        schedule.At(850).Should().BeApproximately(1.1e-4, 1e-15); // the cosine's midpoint
        schedule.At(475).Should().BeApproximately(2e-5 + 1.8e-4 * (1 + Math.Cos(Math.PI / 4)) / 2, 1e-15);
        schedule.At(1600).Should().Be(2e-5);
        schedule.At(5000).Should().Be(2e-5);
    }

    [Fact]
    public void Options_resolve_the_decay_end_and_report_problems()
    {
        var options = new LearningRateScheduleOptions { Type = "linear", Lr = 1e-3, FinalLr = 1e-4, WarmupSteps = 5 };
        LearningRateSchedule.From(options, totalSteps: 15).At(10).Should().BeApproximately(5.5e-4, 1e-15);
        LearningRateSchedule.Check(new LearningRateScheduleOptions { Type = "step", Lr = -1 }, 10)
            .Select(p => p.Key).Should().BeEquivalentTo("schedule.type", "schedule.lr");
        LearningRateSchedule.Check(new LearningRateScheduleOptions { Type = "cosine", WarmupSteps = 20 }, 10)
            .Select(p => p.Key).Should().Equal("schedule.decay_end_step");
    }
}
