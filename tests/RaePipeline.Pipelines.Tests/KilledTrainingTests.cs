using System.Diagnostics;
using System.Globalization;
using RaePipeline.Host;
using RaePipeline.Pipeline;
using Xunit.Abstractions;

namespace RaePipeline.Pipelines.Tests;

/// <summary>
/// A training run of the `rae` host killed with SIGKILL (kill -9) at ten random points, half of them while a checkpoint
/// is being written, and resumed after each: every resume continues, and the finished run is the uninterrupted one.
/// </summary>
public class KilledTrainingTests(ITestOutputHelper log)
{
    const int Steps = 50;

    const string Pipeline = TinyPipelines.Components + """
        jobs:
          - train: { steps: 50, batch_size: 4, log_every: 1, checkpoint_every: 1, keep_checkpoints: 2, schedule: { type: constant, lr: 1.0e-3 } }
        """;

    [Fact]
    public void Kill_9_at_ten_random_points_every_resume_continues_curves_have_every_step_once_and_no_temporary_folder_remains()
    {
        using var rae = new Rae();
        var pipeline = rae.Write("train.yaml", Pipeline);
        var run = Path.Combine(rae.Folder, "killed");
        var checkpoints = Path.Combine(run, "train", "checkpoints");
        int seed = Environment.TickCount;
        var random = new Random(seed);
        log.WriteLine($"random seed {seed}");
        var clock = Stopwatch.StartNew();

        int leftTemporaries = 0;
        for (int kill = 0; kill < 10; kill++)
        {
            long from = LatestStep(checkpoints);
            using var child = new RaeProcess("run", pipeline, "--run-dir", run);
            // Every resume must get past its start (lock, leftovers, checkpoint) and train at least one step.
            long target = from + 1 + random.Next(3);
            WaitUntil(child, () => LatestStep(checkpoints) >= target, $"kill {kill}: step {target}");
            if (kill % 2 == 0)
                WaitUntil(child, () => Temporaries(checkpoints).Length > 0, $"kill {kill}: a checkpoint being written");
            else
                Thread.Sleep(random.Next(20));
            child.KillHard();
            bool left = Temporaries(run).Length > 0;
            leftTemporaries += left ? 1 : 0;
            log.WriteLine($"kill {kill}: resumed at step {from}, killed after step {LatestStep(checkpoints)}{(left ? ", mid-write" : "")}");
        }
        using (var last = new RaeProcess("run", pipeline, "--run-dir", run))
        {
            last.WaitForExit(TimeSpan.FromMinutes(3)).Should().BeTrue("the last resume finishes");
            last.ExitCode.Should().Be(0, last.Output);
        }
        log.WriteLine($"10 kills and resumes in {clock.Elapsed.TotalSeconds:F1} s");
        leftTemporaries.Should().BePositive("some kills hit a checkpoint write (the test would not show their clean-up otherwise)");

        var curve = RunResults.Load(run).Curve("train/loss");
        curve.Select(p => p.Step).Should().Equal(Enumerable.Range(1, Steps).Select(s => (long)s), "every step once, in order");
        Temporaries(run).Should().BeEmpty();
        File.ReadAllText(Path.Combine(run, "run.log")).Should().Contain("left by a checkpoint write that did not finish");
        curve.Should().Equal(Uninterrupted(rae, pipeline), "resuming from checkpoints repeats the run exactly");
    }

    /// <summary>The same run without kills, in this process on one thread like the children.</summary>
    static IReadOnlyList<(long Step, double Value)> Uninterrupted(Rae rae, string pipeline)
    {
        var run = Path.Combine(rae.Folder, "uninterrupted");
        rae.RunOnOneThread("run", pipeline, "--run-dir", run);
        return RunResults.Load(run).Curve("train/loss");
    }

    [Fact]
    public void A_second_run_on_a_run_folder_in_use_fails_naming_the_folder_and_the_holder()
    {
        using var rae = new Rae();
        var pipeline = rae.Write("train.yaml", Pipeline);
        var run = Path.Combine(rae.Folder, "run");
        var error = new StringWriter();
        using (RunFolderLock.Acquire(run))
        {
            RaeCommand.Run(["run", pipeline, "--run-dir", run], new StringWriter(), error, ProgressReporter.Silent, _ => { })
                .Should().Be(1);
        }
        error.ToString().Should().Contain($"the run folder {run} is in use by another run (pid {Environment.ProcessId} on host {Environment.MachineName}");
        Directory.Exists(Path.Combine(run, "train")).Should().BeFalse("the second run stopped before any job");
    }

    static long LatestStep(string checkpoints) =>
        Directory.Exists(checkpoints)
            ? Directory.GetDirectories(checkpoints, "step-*").Select(d => long.Parse(Path.GetFileName(d)[5..], CultureInfo.InvariantCulture))
                .DefaultIfEmpty(0).Max()
            : 0;

    static string[] Temporaries(string folder) =>
        Directory.Exists(folder) ? Directory.GetFileSystemEntries(folder, "*.tmp-*", SearchOption.AllDirectories)
            .Concat(Directory.GetFileSystemEntries(folder, "*.old-*", SearchOption.AllDirectories)).ToArray() : [];

    static void WaitUntil(RaeProcess child, Func<bool> condition, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            if (child.HasExited) throw new Xunit.Sdk.XunitException($"{what}: rae exited ({child.ExitCode}) first:\n{child.Output}");
            if (deadline.Elapsed > TimeSpan.FromMinutes(2)) throw new Xunit.Sdk.XunitException($"{what}: not reached in 2 minutes:\n{child.Output}");
            Thread.Sleep(1);
        }
    }
}
