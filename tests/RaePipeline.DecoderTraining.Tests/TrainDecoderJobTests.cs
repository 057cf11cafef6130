using Microsoft.Extensions.Logging;
using RaePipeline.Abstractions;
using RaePipeline.Decoders.VitDecoder;
using RaePipeline.Imaging;
using RaePipeline.Pipeline;
using RaePipeline.Training;
using RaePipeline.Weights;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace RaePipeline.DecoderTraining.Tests;

public class TrainDecoderJobTests(ITestOutputHelper output)
{
    internal const int ImageSize = 16;
    internal const int Patch = 4;

    /// <summary>A tiny vit-decoder (randomly initialized, seeded) for <paramref name="encoder"/>'s latents.</summary>
    internal static IDecoder TinyDecoder(IEncoder encoder, string folder) => VitDecoder.Create(
        new ComponentContext
        {
            Device = CPU, Seed = 2, WeightsPath = null, BaseDirectory = folder,
            EncoderImageNormalization = encoder.ImageNormalization, EncoderLatent = encoder.LatentShape,
        },
        new VitDecoderOptions { HiddenSize = 64, NumHiddenLayers = 2, NumAttentionHeads = 4, IntermediateSize = 128, PatchSize = Patch });

    internal static JobContext Context(TemporaryFolder folder, IEncoder encoder, IDecoder decoder, ILoggerFactory logs,
        RunResults results, ProgressReporter? progress = null, CancellationToken cancellation = default, string run = "run",
        string? latentCache = null) => new()
    {
        Components = new TestPipelineComponents(encoder, decoder),
        Device = CPU,
        Seed = 3,
        RunDirectory = folder.Combine(run),
        PipelineDirectory = folder.Path,
        Data = new DataOptions { Source = "synthetic", ImageSize = ImageSize, NumClasses = 4, ImagesPerClass = 16, RandomFlip = true, LatentCache = latentCache },
        LoggerFactory = logs,
        Progress = progress ?? ProgressReporter.Silent,
        Results = results,
        Runner = new NoPipelineRunner(),
        Cancellation = cancellation,
    };

    /// <summary>A discriminator on a small random ViT (no DINO file in tests), LPIPS off (its VGG16 is too heavy here).</summary>
    static TrainDecoderOptions TinyOptions(int steps) => new()
    {
        Steps = steps,
        BatchSize = 16,
        Lr = 2e-3,
        FinalLr = 2e-4,
        Warmup = 10,
        EmaDecay = 0.9,
        NoiseTau = 0.1,
        Lpips = false,
        GanStart = steps * 2 / 3,
        DiscUpdateStart = steps / 2,
        Discriminator = new DiscriminatorOptions
        {
            Random = true, KernelSize = 3,
            Features = new DinoFeatureNetworkOptions { EmbedDim = 32, Depth = 2, NumHeads = 2, PatchSize = 4, InputSize = ImageSize, KeyDepths = [0] },
        },
        LogEvery = 10,
        GridEvery = 100,
        GridImages = 4,
        CheckpointEvery = 100,
    };

    /// <summary>24 steps in which the discriminator starts updating at step 4 and the GAN loss at step 8: every phase in a short run.</summary>
    static TrainDecoderOptions AllPhasesOptions()
    {
        var options = TinyOptions(steps: 24);
        options.GanStart = 8;
        options.DiscUpdateStart = 4;
        return options;
    }

    [Fact]
    public void Training_halves_the_reconstruction_error_and_writes_grids_checkpoint_and_ema_decoder()
    {
        using var folder = new TemporaryFolder();
        using var encoder = new PatchProjectionEncoder(ImageSize, Patch, channels: 48, seed: 1);
        using var decoder = TinyDecoder(encoder, folder.Path);
        var logs = new RecordingLoggerFactory();
        var results = new RunResults();
        var options = TinyOptions(steps: 300);

        new TrainDecoderJob().Run(Context(folder, encoder, decoder, logs, results), options);

        var l1 = results.Curve("train-decoder/l1");
        l1.First().Step.Should().Be(1);
        l1.Last().Step.Should().Be(300);
        double start = l1.First().Value, end = l1.Last().Value;
        output.WriteLine($"L1 at step 1: {start:F4}, at step 300: {end:F4}");
        end.Should().BeLessThan(start / 2, $"L1 went from {start:F4} to {end:F4}");
        results.Curve("train-decoder/loss").Should().HaveCount(l1.Count);
        results.Curve("train-decoder/disc_loss").Should().NotBeEmpty().And.OnlyContain(p => double.IsFinite(p.Value));
        results.Curve("train-decoder/gan").Should().NotBeEmpty().And.OnlyContain(p => double.IsFinite(p.Value));
        results.Curve("train-decoder/disc_loss").First().Step.Should().BeLessThan(results.Curve("train-decoder/gan").First().Step);

        // Grids: originals over reconstructions, 4 columns, 2 px padding.
        var grid = folder.Combine("run/train-decoder/grids/final.png");
        File.Exists(grid).Should().BeTrue();
        File.Exists(folder.Combine("run/train-decoder/grids/step-0000100.png")).Should().BeTrue();
        using (var picture = ImageFile.Read(grid))
            picture.shape.Should().Equal(3, 2 * (ImageSize + 2) + 2, 4 * (ImageSize + 2) + 2);
        Directory.Exists(folder.Combine("run/train-decoder/checkpoints/decoder/step-00000300")).Should().BeTrue();
        Directory.Exists(folder.Combine("run/train-decoder/checkpoints/discriminator/step-00000300")).Should().BeTrue();

        // The in-memory decoder now holds the EMA weights, which were also written out.
        var written = SafeTensorsFile.Read(folder.Combine("run/decoder/model.safetensors"));
        written["decoder_pred.weight"].SameValues(decoder.Module.state_dict()["decoder_pred.weight"]).Should().BeTrue();
        logs.Lines.Should().Contain(l => l.Message.Contains("EMA weights") && l.Message.Contains("later jobs"));
        logs.Lines.Should().Contain(l => l.Level == LogLevel.Warning && l.Message.Contains("LPIPS is switched off"));
        logs.Lines.Should().Contain(l => l.Level == LogLevel.Warning && l.Message.Contains("RANDOMLY INITIALIZED"));
    }

    [Fact]
    public void An_interrupted_run_resumed_from_its_checkpoint_ends_with_the_uninterrupted_weights()
    {
        using var folder = new TemporaryFolder();
        using var encoder = new PatchProjectionEncoder(ImageSize, Patch, channels: 48, seed: 1);
        var options = AllPhasesOptions();
        options.CheckpointEvery = 10;

        using var straightDecoder = TinyDecoder(encoder, folder.Path);
        var straightResults = new RunResults();
        new TrainDecoderJob().Run(Context(folder, encoder, straightDecoder, new RecordingLoggerFactory(), straightResults, run: "straight"), options);

        // Interrupted after 13 steps (cancellation is checked before each step), so the step-10 checkpoint is the last.
        using var cancellation = new CancellationTokenSource();
        var progress = new ProgressReporter(new CancelAfter("13/24", cancellation), interactive: false, TimeSpan.Zero);
        using (var interruptedDecoder = TinyDecoder(encoder, folder.Path))
        {
            var interrupted = () => new TrainDecoderJob().Run(
                Context(folder, encoder, interruptedDecoder, new RecordingLoggerFactory(), new RunResults(), progress, cancellation.Token, run: "resumed"), options);
            interrupted.Should().Throw<OperationCanceledException>();
        }
        Directory.GetDirectories(folder.Combine("resumed/train-decoder/checkpoints/decoder")).Select(Path.GetFileName)
            .Should().Equal("step-00000010");

        var logs = new RecordingLoggerFactory();
        using var resumedDecoder = TinyDecoder(encoder, folder.Path);
        var resumedResults = new RunResults(); // a new process: the curves before step 10 come from the run folder
        new TrainDecoderJob().Run(Context(folder, encoder, resumedDecoder, logs, resumedResults, run: "resumed"), options);
        logs.Lines.Should().Contain(l => l.Message.Contains("resumed from") && l.Message.Contains("step 10"));
        foreach (var series in straightResults.CurveNames)
        {
            var resumed = resumedResults.Curve(series);
            resumed.Select(p => p.Step).Should().Equal(straightResults.Curve(series).Select(p => p.Step), $"{series}: every step once");
            resumed.Select(p => p.Value).Should().Equal(straightResults.Curve(series).Select(p => p.Value),
                (a, b) => Math.Abs(a - b) <= 1e-5 * Math.Max(1, Math.Abs(b)), series);
        }

        var straight = straightDecoder.Module.state_dict();
        foreach (var (name, tensor) in resumedDecoder.Module.state_dict())
            TensorAssert.Close(tensor, straight[name], 1e-6, 1e-5, name);
        var straightHeads = SafeTensorsFile.Read(folder.Combine("straight/train-decoder/checkpoints/discriminator/step-00000024/model.safetensors"));
        var resumedHeads = SafeTensorsFile.Read(folder.Combine("resumed/train-decoder/checkpoints/discriminator/step-00000024/model.safetensors"));
        foreach (var (name, tensor) in resumedHeads) TensorAssert.Close(tensor, straightHeads[name], 1e-6, 1e-5, name);
    }

    [Fact]
    public void Training_on_latents_from_the_cache_follows_the_run_that_encodes_every_step()
    {
        using var folder = new TemporaryFolder();
        using var encoder = new PatchProjectionEncoder(ImageSize, Patch, channels: 48, seed: 1);
        var options = AllPhasesOptions();

        using var encodingDecoder = TinyDecoder(encoder, folder.Path);
        var encoding = new RunResults();
        new TrainDecoderJob().Run(Context(folder, encoder, encodingDecoder, new RecordingLoggerFactory(), encoding, run: "encoding"), options);

        var logs = new RecordingLoggerFactory();
        using var cachedDecoder = TinyDecoder(encoder, folder.Path);
        var cached = new RunResults();
        new TrainDecoderJob().Run(Context(folder, encoder, cachedDecoder, logs, cached, run: "cached", latentCache: folder.Combine("cache")), options);

        logs.Lines.Should().Contain(l => l.Message.Contains("train-decoder:") && l.Message.Contains("latents from the cache"));
        Directory.GetFiles(folder.Combine("cache"), "manifest.json", SearchOption.AllDirectories).Should().ContainSingle();
        cached.CurveNames.Should().BeEquivalentTo(encoding.CurveNames).And.Contain("train-decoder/gan");
        foreach (var series in encoding.CurveNames)
            cached.Curve(series).Select(p => p.Value).Should().Equal(encoding.Curve(series).Select(p => p.Value),
                (a, b) => Math.Abs(a - b) <= 1e-4 * Math.Max(1, Math.Abs(b)), series);
        var expected = encodingDecoder.Module.state_dict();
        foreach (var (name, tensor) in cachedDecoder.Module.state_dict())
            TensorAssert.Close(tensor, expected[name], 1e-5, 1e-4, name);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Training_steps_create_no_tensor_outside_a_dispose_scope(bool fromCache)
    {
        using var folder = new TemporaryFolder();
        using var encoder = new PatchProjectionEncoder(ImageSize, Patch, channels: 48, seed: 1);
        using var decoder = TinyDecoder(encoder, folder.Path);
        long OutsideScopes(int steps)
        {
            var options = AllPhasesOptions();
            options.Steps = steps;
            options.Resume = "none";
            long before = DisposeScopeManager.Statistics.CreatedOutsideScopeCount;
            new TrainDecoderJob().Run(Context(folder, encoder, decoder, new RecordingLoggerFactory(), new RunResults(), run: $"run-{steps}",
                latentCache: fromCache ? folder.Combine("cache") : null), options);
            return DisposeScopeManager.Statistics.CreatedOutsideScopeCount - before;
        }
        OutsideScopes(6); // fills the cache and creates what lives on (lazily built buffers)
        long few = OutsideScopes(6), many = OutsideScopes(16);
        // A tensor made outside every scope is freed only by its finalizer: native memory the GC does not see.
        many.Should().Be(few, $"10 more steps must not create more tensors outside a dispose scope ({few} in 6 steps, {many} in 16)");
    }

    [Fact]
    public void Noise_in_normalized_units_needs_latent_statistics_and_trains_with_them()
    {
        using var folder = new TemporaryFolder();
        using var encoder = new PatchProjectionEncoder(ImageSize, Patch, channels: 48, seed: 1);
        using var decoder = TinyDecoder(encoder, folder.Path);
        var options = TinyOptions(steps: 2);
        options.NoiseSpace = NoiseSpaces.Normalized;

        var train = () => new TrainDecoderJob().Run(Context(folder, encoder, decoder, new RecordingLoggerFactory(), new RunResults()), options);
        train.Should().Throw<InvalidOperationException>().Where(e => e.Message.Contains("noise_space: normalized") && e.Message.Contains("stats job"));

        // With statistics it trains, saying how the noise counts.
        var logs = new RecordingLoggerFactory();
        var context = Context(folder, encoder, decoder, logs, new RunResults(), run: "with-statistics");
        var shape = encoder.LatentShape;
        using var statistics = new Latents.LatentStatistics(null, torch.full([shape.Channels, shape.Height, shape.Width], 4.0f));
        context.Components.Statistics = statistics;
        new TrainDecoderJob().Run(context, options);
        logs.Lines.Should().Contain(l => l.Message.Contains("in normalized units"));
    }

    [Fact]
    public void A_diverging_decoder_is_stopped_naming_the_step_and_what_to_change()
    {
        using var folder = new TemporaryFolder();
        using var encoder = new PatchProjectionEncoder(ImageSize, Patch, channels: 48, seed: 1);
        using var decoder = TinyDecoder(encoder, folder.Path);
        var options = TinyOptions(steps: 6);
        (options.Lr, options.FinalLr, options.Warmup, options.DiscWeight) = (1e6, 1e6, 0, 0);

        var train = () => new TrainDecoderJob().Run(Context(folder, encoder, decoder, new RecordingLoggerFactory(), new RunResults()), options);
        train.Should().Throw<TrainingDivergedException>()
            .Where(e => e.Message.StartsWith("train-decoder: the L1 reconstruction loss is ") && e.Message.Contains($"at step {e.Step} (lr 1E+06)")
                        && e.Message.Contains("lower the learning rate (lr, final_lr)"));
        Directory.Exists(folder.Combine("run", "decoder")).Should().BeFalse("no decoder weights are written after a diverged run");
    }

    /// <summary>A progress output that cancels the run once a progress line mentions <paramref name="marker"/>.</summary>
    sealed class CancelAfter(string marker, CancellationTokenSource cancellation) : StringWriter
    {
        public override void WriteLine(string? value)
        {
            if (value != null && value.Contains(marker)) cancellation.Cancel();
        }
    }

    [Fact]
    public void Validation_names_missing_roles_and_bad_options()
    {
        var context = new JobValidationContext
        {
            Roles = new HashSet<PipelineRole> { PipelineRole.Encoder },
            Data = new DataOptions { Source = "synthetic" },
        };
        var options = new TrainDecoderOptions { Unit = "hours", BatchSize = 0, FinalLr = 1.0, NoiseSpace = "latent" };
        options.Discriminator.KernelSize = 4;
        options.Discriminator.Features.EmbedDim = 100;   // not a multiple of its 6 heads
        var problems = new TrainDecoderJob().Validate(context, options).ToList();
        problems.Should().Contain(p => p.OptionKey == null && p.Message.Contains("'decoder'"));
        problems.Select(p => p.OptionKey).Should().Contain(["unit", "batch_size", "final_lr", "noise_space", "discriminator.kernel_size", "discriminator.features.embed_dim"]);
        new TrainDecoderJob().Validate(new JobValidationContext
        {
            Roles = new HashSet<PipelineRole> { PipelineRole.Encoder, PipelineRole.Decoder },
            Data = new DataOptions { Source = "synthetic" },
        }, new TrainDecoderOptions()).Should().BeEmpty();
    }
}
