using Microsoft.Extensions.Logging;
using RaePipeline.Backbones.DiffusionTransformers;
using RaePipeline.Latents;
using RaePipeline.Pipeline;
using RaePipeline.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Training.Tests;

public class TrainJobTests
{
    internal static TrainJobOptions Options(long steps) => new()
    {
        Steps = steps,
        BatchSize = 8,
        GradAccumulation = 2,
        Schedule = new LearningRateScheduleOptions { Type = "linear", Lr = 2e-3, FinalLr = 5e-4, WarmupSteps = 2, DecayEndStep = 6, WarmupFromZero = true },
        EmaDecay = 0.9,
        CheckpointEvery = 2,
        LogEvery = 1,
    };

    static IReadOnlyList<(long Step, double Value)> Train(string run, TrainJobOptions options, DataOptions? data = null, bool withSampling = false)
    {
        using var components = TinyPipeline.Components(withSampling);
        var context = TinyPipeline.Context(components, run, data ?? TinyPipeline.Data());
        new TrainJob().Run(context, options);
        return context.Results.Curve("train/loss");
    }

    [Fact]
    public void A_resumed_run_repeats_the_uninterrupted_losses_exactly()
    {
        using var folder = new TemporaryFolder();
        var whole = Train(folder.Combine("whole"), Options(6));
        whole.Select(p => p.Step).Should().Equal(1, 2, 3, 4, 5, 6);

        var first = Train(folder.Combine("split"), Options(3));
        var second = Train(folder.Combine("split"), Options(6)); // fresh components, resume: auto
        first.Should().Equal(whole.Take(3));
        second.Should().Equal(whole, "steps 4-6 continue from the step-3 checkpoint, after steps 1-3 taken from the run folder's curves");

        var a = WeightFiles.ReadStateDict(Path.Combine(folder.Combine("whole", "train", "checkpoints", "step-00000006"), "ema.safetensors"));
        var b = WeightFiles.ReadStateDict(Path.Combine(folder.Combine("split", "train", "checkpoints", "step-00000006"), "ema.safetensors"));
        foreach (var (name, value) in a) b[name].SameValues(value).Should().BeTrue(name);
    }

    [Fact]
    public void A_cancelled_run_writes_a_checkpoint_and_resumes_exactly()
    {
        using var folder = new TemporaryFolder();
        var options = Options(5);
        options.CheckpointEvery = 0;
        var whole = Train(folder.Combine("whole"), options);

        using var cancellation = new CancellationTokenSource();
        using (var components = TinyPipeline.Components())
        {
            var context = TinyPipeline.Context(components, folder.Combine("cancelled"), TinyPipeline.Data(), cancellation: cancellation.Token);
            context = new JobContext
            {
                Components = context.Components, Device = context.Device, Seed = context.Seed, RunDirectory = context.RunDirectory,
                PipelineDirectory = context.PipelineDirectory, Data = context.Data, Progress = context.Progress,
                Results = context.Results, Runner = context.Runner, Cancellation = context.Cancellation,
                LoggerFactory = new CancellingLoggerFactory("step 2/5", cancellation),
            };
            FluentActions.Invoking(() => new TrainJob().Run(context, options)).Should().Throw<OperationCanceledException>();
            context.Results.Curve("train/loss").Should().Equal(whole.Take(2));
        }
        TrainingCheckpoint.List(folder.Combine("cancelled", "train", "checkpoints")).Select(c => c.Step).Should().Equal(2);
        Train(folder.Combine("cancelled"), options).Should().Equal(whole);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Training_steps_leave_no_tensor_to_the_finalizer(bool fromCache)
    {
        using var folder = new TemporaryFolder();
        var data = TinyPipeline.Data();
        if (fromCache) data.LatentCache = folder.Combine("cache");
        (long Outside, long Detached) Leftovers(long steps)
        {
            var options = Options(steps);
            (options.CheckpointEvery, options.LogEvery, options.Resume) = (0, 1000, "none");
            var before = DisposeScopeManager.Statistics;
            long outside = before.CreatedOutsideScopeCount, detached = before.DetachedFromScopeCount;
            Train(folder.Combine($"run-{steps}"), options, data);
            var after = DisposeScopeManager.Statistics;
            System.Console.WriteLine(string.Join(", ", after.GetType().GetProperties().Select(p => $"{p.Name}={p.GetValue(after)}")));
            return (after.CreatedOutsideScopeCount - outside, after.DetachedFromScopeCount - detached);
        }
        Leftovers(4); // fills the cache and creates what lives on (lazily built buffers)
        var few = Leftovers(4);
        var many = Leftovers(12);
        // A tensor made outside every scope, or taken out of one and dropped, is freed only by its finalizer: native
        // memory the GC does not see (under rae's no-GC region, it piles up until the next collection).
        many.Should().Be(few, $"8 more steps must not leave more tensors to the finalizer ({few} in 4 steps, {many} in 12)");
    }

    /// <summary>Cancels the run when a log message contains a given text.</summary>
    sealed class CancellingLoggerFactory(string trigger, CancellationTokenSource source) : ILoggerFactory, ILogger
    {
        public ILogger CreateLogger(string categoryName) => this;
        public void AddProvider(ILoggerProvider provider) { }
        public void Dispose() { }
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (formatter(state, exception).Contains(trigger)) source.Cancel();
        }
    }

    [Fact]
    public void After_training_the_denoiser_holds_the_ema_weights_and_the_run_folder_has_logs_and_grids()
    {
        using var folder = new TemporaryFolder();
        using var components = TinyPipeline.Components(withSampling: true);
        var logs = new RecordingLoggerFactory();
        var context = TinyPipeline.Context(components, folder.Path, TinyPipeline.Data(), logs: logs);
        var options = Options(4);
        options.SampleEvery = 2;
        options.SampleCount = 4;
        new TrainJob().Run(context, options);

        var ema = WeightFiles.ReadStateDict(folder.Combine("train", "checkpoints", "step-00000004", "ema.safetensors"));
        var model = WeightFiles.ReadStateDict(folder.Combine("train", "checkpoints", "step-00000004", "model.safetensors"));
        foreach (var (name, value) in components.Denoiser.Module.state_dict())
            value.SameValues(ema[name]).Should().BeTrue(name);
        model.Any(kv => !kv.Value.SameValues(ema[kv.Key])).Should().BeTrue("the training weights differ from their average");
        components.Denoiser.Module.training.Should().BeFalse();

        logs.Lines.Should().Contain(l => l.Message.Contains("now holds the EMA weights"), "training messages go to the job's logger (the host's run.log)");
        File.Exists(folder.Combine("train.log")).Should().BeFalse();
        File.Exists(folder.Combine("train", "samples", "step-00000002.png")).Should().BeTrue();
        File.Exists(folder.Combine("train", "samples", "step-00000004.png")).Should().BeTrue();
        TrainingCheckpoint.List(folder.Combine("train", "checkpoints")).Select(c => c.Step).Should().Equal(2, 4);
        context.Results.Metrics["train/steps"].Should().Be(4);
        context.Results.Metrics["train/final_loss"].Should().Be(context.Results.Curve("train/loss")[^1].Value);
    }

    [Fact]
    public void Latent_cache_training_matches_encoding_on_the_fly()
    {
        using var folder = new TemporaryFolder();
        var onTheFly = Train(folder.Combine("fly"), Options(3));
        var cached = Train(folder.Combine("cached"), Options(3), TinyPipeline.Data(latentCache: folder.Combine("cache")));
        cached.Select(p => p.Step).Should().Equal(onTheFly.Select(p => p.Step));
        for (int i = 0; i < cached.Count; i++)
            cached[i].Value.Should().BeApproximately(onTheFly[i].Value, 1e-5 * onTheFly[i].Value, $"step {cached[i].Step}");
    }

    [Fact]
    public void Latents_are_normalized_with_the_pipeline_statistics()
    {
        using var folder = new TemporaryFolder();
        var latent = TinyPipeline.DenoiserSpec.Latent;
        using var generator = new Generator(17, torch.CPU);
        using var statistics = new LatentStatistics(
            torch.randn([latent.Channels, latent.Height, latent.Width], generator: generator),
            torch.rand([latent.Channels, latent.Height, latent.Width], generator: generator) * 3 + 0.2);
        var options = Options(3);

        IReadOnlyList<(long, double)> Run(string name, TestComponents components)
        {
            using (components)
            {
                var context = TinyPipeline.Context(components, folder.Combine(name), TinyPipeline.Data());
                new TrainJob().Run(context, options);
                return context.Results.Curve("train/loss");
            }
        }

        var plain = TinyPipeline.Components();
        var raw = Run("raw", plain);
        var withStatistics = TinyPipeline.Components();
        withStatistics.Statistics = statistics;
        var normalized = Run("statistics", withStatistics);
        // The same training on an encoder that hands out (z - mean) / sqrt(var + eps) itself, without statistics.
        var reference = Run("reference", new TestComponents
        {
            EncoderOrNull = new NormalizingEncoder(new PatchMeanEncoder(TinyPipeline.ImageSize, TinyPipeline.Patch, TinyPipeline.Channels, seed: 3), statistics),
            DenoiserOrNull = DiffusionTransformerDenoiser.Create(TinyPipeline.DenoiserSpec, null, WeightFiles.CheckpointEntry.Ema, seed: 4, torch.CPU),
        });
        for (int i = 0; i < reference.Count; i++)
        {
            normalized[i].Item2.Should().BeApproximately(reference[i].Item2, 1e-5 * reference[i].Item2);
            Math.Abs(normalized[i].Item2 - raw[i].Item2).Should().BeGreaterThan(1e-3, "the statistics change the latents");
        }
    }

    [Fact]
    public void Loss_of_a_tiny_ditdh_falls()
    {
        using var folder = new TemporaryFolder();
        var options = new TrainJobOptions
        {
            Steps = 60, BatchSize = 16, LogEvery = 1, CheckpointEvery = 0, ClassDropout = 0.1,
            Schedule = new LearningRateScheduleOptions { Type = "constant", Lr = 2e-3 },
        };
        var losses = Train(folder.Path, options).Select(p => p.Value).ToList();
        // Measured: about 1.24 over the first 10 steps, about 0.48 over steps 50-60 (ratio about 0.4).
        double early = losses.Take(10).Average(), late = losses.TakeLast(10).Average();
        (late / early).Should().BeLessThan(0.6, $"loss fell from {early:F4} to {late:F4}");
    }

    [Fact]
    public void Validation_names_bad_options_and_missing_roles()
    {
        var context = new JobValidationContext
        {
            Roles = new HashSet<PipelineRole> { PipelineRole.Denoiser },
            Data = new DataOptions(),
        };
        var options = new TrainJobOptions { BatchSize = 10, GradAccumulation = 3, TimeDistribution = "gaussian", SampleEvery = 5 };
        var problems = new TrainJob().Validate(context, options).ToList();
        problems.Should().Contain(p => p.OptionKey == null && p.Message.Contains("'encoder'"));
        problems.Should().Contain(p => p.OptionKey == null && p.Message.Contains("'data' block"));
        problems.Select(p => p.OptionKey).Should().Contain(["batch_size", "time_distribution", "sample_every"]);
    }
}
