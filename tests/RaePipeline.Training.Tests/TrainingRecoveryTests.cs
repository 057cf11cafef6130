using Microsoft.Extensions.Logging;
using RaePipeline.Pipeline;

namespace RaePipeline.Training.Tests;

/// <summary>What a training run leaves after a crash or a damaged checkpoint, and how the next start deals with it.</summary>
public class TrainingRecoveryTests
{
    static TrainJobOptions Options(long steps) => TrainJobTests.Options(steps); // checkpoints every 2 steps, a point per step

    static JobContext Context(TestComponents components, string run, ILoggerFactory? logs = null) =>
        TinyPipeline.Context(components, run, TinyPipeline.Data(), logs: logs);

    static IReadOnlyList<(long Step, double Value)> Train(string run, TrainJobOptions options, ILoggerFactory? logs = null)
    {
        using var components = TinyPipeline.Components();
        new TrainJob().Run(Context(components, run, logs), options);
        return RunResults.Load(run).Curve("train/loss");
    }

    static string Checkpoints(string run) => Path.Combine(run, "train", "checkpoints");

    [Fact]
    public void Curves_survive_a_crash_and_the_resumed_run_has_every_step_once()
    {
        using var folder = new TemporaryFolder();
        var whole = Train(folder.Combine("whole"), Options(6));
        whole.Select(p => p.Step).Should().Equal(1, 2, 3, 4, 5, 6);

        var run = folder.Combine("crashed");
        int modelFiles = 0;
        TrainingCheckpoint.AfterFileWritten = name =>
        {
            if (name == TrainingCheckpoint.ModelFile && ++modelFiles == 2) throw new IOException("simulated crash in the step-4 checkpoint");
        };
        try
        {
            FluentActions.Invoking(() => Train(run, Options(6))).Should().Throw<IOException>();
        }
        finally
        {
            TrainingCheckpoint.AfterFileWritten = null;
        }
        TrainingCheckpoint.List(Checkpoints(run)).Select(c => c.Step).Should().Equal(2);
        RunResults.Load(run).Curve("train/loss").Select(p => p.Step).Should().Equal([1, 2, 3, 4],
            "the curves are saved before each checkpoint, so they reach past the newest one");

        var resumed = Train(run, Options(6)); // a new process: nothing in memory, resume: auto from step 2
        resumed.Should().Equal(whole, "steps 3 and 4 are dropped at the resume and computed again, once");
    }

    [Fact]
    public void Leftovers_of_a_killed_checkpoint_write_are_cleared_when_training_starts_again()
    {
        using var folder = new TemporaryFolder();
        var run = folder.Combine("run");
        var whole = Train(folder.Combine("whole"), Options(4));
        Train(run, Options(2));
        var checkpoints = Checkpoints(run);
        // Killed while writing step 4, and killed while step 2 was being replaced (moved aside, not yet back).
        var writing = Directory.CreateDirectory(Path.Combine(checkpoints, ".step-00000004.tmp-0123456789abcdef")).FullName;
        File.WriteAllBytes(Path.Combine(writing, TrainingCheckpoint.ModelFile), [1, 2, 3]);
        Directory.Move(Path.Combine(checkpoints, "step-00000002"), Path.Combine(checkpoints, ".step-00000002.old-fedcba9876543210"));

        var logs = new RecordingLoggerFactory();
        Train(run, Options(4), logs).Should().Equal(whole);

        logs.Lines.Should().Contain(l => l.Level == LogLevel.Warning && l.Message.Contains(writing));
        logs.Lines.Should().Contain(l => l.Message.Contains("resumed from") && l.Message.Contains("step-00000002"),
            "the complete checkpoint moved aside is put back and resumed from");
        Directory.GetDirectories(checkpoints).Select(Path.GetFileName).Should().BeEquivalentTo("step-00000002", "step-00000004");
    }

    [Fact]
    public void A_damaged_latest_checkpoint_is_skipped_with_a_warning_naming_both_and_none_intact_is_an_error()
    {
        using var folder = new TemporaryFolder();
        var run = folder.Combine("run");
        var whole = Train(folder.Combine("whole"), Options(6));
        Train(run, Options(4));
        var checkpoints = Checkpoints(run);
        var damaged = Path.Combine(checkpoints, "step-00000004");
        var intact = Path.Combine(checkpoints, "step-00000002");
        using (var file = File.Open(Path.Combine(damaged, TrainingCheckpoint.ModelFile), FileMode.Open)) file.SetLength(100);

        var logs = new RecordingLoggerFactory();
        Train(run, Options(6), logs).Should().Equal(whole, "the run continues from step 2 and computes steps 3-6 again");
        logs.Lines.Should().Contain(l => l.Level == LogLevel.Warning && l.Message.Contains(damaged) && l.Message.Contains(intact)
                                         && l.Message.Contains(TrainingCheckpoint.ModelFile));

        foreach (var (_, checkpoint) in TrainingCheckpoint.List(checkpoints))
            File.WriteAllText(Path.Combine(checkpoint, TrainingCheckpoint.StateFile), "{ not json");
        var newest = TrainingCheckpoint.Latest(checkpoints)!;
        FluentActions.Invoking(() => Train(run, Options(8))).Should().Throw<TrainingCheckpointException>()
            .Where(e => e.Message.Contains("no checkpoint") && e.Message.Contains(newest) && e.Message.Contains("not valid JSON"));
    }
}
