using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RaePipeline.Host;
using RaePipeline.Host.Running;
using RaePipeline.Imaging;
using RaePipeline.Pipeline;
using RaePipeline.Weights;
using YamlDotNet.RepresentationModel;
using static TorchSharp.torch;

namespace RaePipeline.Evaluation.Tests;

/// <summary>
/// compare through a recording runner (what each run is given, tables, charts, validation) and through the real host:
/// two encoder input sizes of the parity kit's tiny DINOv2 (real weights in the HuggingFace folder layout; the kit's
/// input size and twice it, multiples of its patch size), each run scoring the same images with eval in the encoder's
/// feature space; and a sampler x evaluations sweep of tiny random components.
/// </summary>
public sealed class CompareJobTests : IDisposable
{
    readonly string folder = Path.Combine(Path.GetTempPath(), "rae-compare-" + Guid.NewGuid().ToString("N"));
    readonly ServiceProvider services = HostServices.Create(LogLevel.Warning, ProgressReporter.Silent, _ => { });

    public CompareJobTests() => Directory.CreateDirectory(folder);

    public void Dispose()
    {
        services.Dispose();
        Directory.Delete(folder, recursive: true);
    }

    [ParityFact("dinov2")]
    public void Compare_over_two_encoder_input_sizes_writes_tables_and_charts_from_each_runs_metrics()
    {
        int small;
        using (var kit = ParityKit.Open("dinov2")) small = kit.Get<int>("encoder_input_size");
        int large = 2 * small;
        string[] runs = [$"input_size-{small}", $"input_size-{large}"];
        var generator = new TorchSharp.torch.Generator(5);
        using (var samples = rand([12, 3, 16, 16], generator: generator))
        using (var reference = rand([12, 3, 16, 16], generator: generator) * 0.5)
        {
            using var samplesHwc = PixelConversion.ToUint8Hwc(samples);
            using var referenceHwc = PixelConversion.ToUint8Hwc(reference);
            NpzFile.Write(Path.Combine(folder, "samples.npz"), [new("arr_0", samplesHwc)]);
            NpzFile.Write(Path.Combine(folder, "reference.npz"), [new("arr_0", referenceHwc)]);
        }
        File.WriteAllText(Path.Combine(folder, "base.yaml"), $$"""
            name: tiny-eval
            device: cpu
            seed: 1
            encoder:
              name: dinov2
              weights: "{{ParityKit.CaseFolder("dinov2")}}"
            jobs:
              - eval: { samples: samples.npz, reference: reference.npz, batch_size: 5 }
            """);
        File.WriteAllText(Path.Combine(folder, "compare.yaml"), $$"""
            name: tiny-compare
            device: cpu
            seed: 1
            jobs:
              - compare:
                  pipeline: base.yaml
                  matrix:
                    encoder.options.input_size: [{{small}}, {{large}}]
            """);
        var runner = services.GetRequiredService<PipelineRunner>();
        runner.LoadDefaultPlugins();

        var summary = runner.Run(Path.Combine(folder, "compare.yaml"), [], Path.Combine(folder, "run"), JobSelection.All);

        var output = Path.Combine(folder, "run", "compare");
        var fd = new Dictionary<string, double>();
        foreach (var run in runs)
        {
            var metrics = JsonNode.Parse(File.ReadAllText(Path.Combine(output, run, "metrics.json")))!.AsObject();
            fd[run] = metrics["eval/fd_dinov2"]!.GetValue<double>();
            summary.Results.Metrics[$"compare/{run}/eval/fd_dinov2"].Should().Be(fd[run]);
            summary.Results.Metrics[$"compare/{run}/wall_seconds"].Should().BePositive();
        }
        fd[runs[0]].Should().NotBe(fd[runs[1]], "the encoder sees the images at another size");

        var csv = File.ReadAllLines(Path.Combine(output, "results.csv"));
        csv.Should().HaveCount(3);
        var header = csv[0].Split(',');
        int fdColumn = Array.IndexOf(header, "eval/fd_dinov2");
        fdColumn.Should().BePositive();
        header.Should().Contain(["encoder.options.input_size", "wall_seconds", "eval/images_per_second"]);
        double.Parse(csv[1].Split(',')[fdColumn], CultureInfo.InvariantCulture).Should().BeApproximately(fd[runs[0]], 1e-5 * fd[runs[0]]);
        csv[2].Split(',')[^1].Should().Be("ok");
        File.ReadAllText(Path.Combine(output, "results.md")).Should().Contain($"| {runs[1]} | {large} |");
        foreach (var chart in new[] { "eval_fd_dinov2.png", "eval_precision.png", "wall_time.png", "eval_images_per_second.png" })
        {
            using var image = ImageFile.Read(Path.Combine(output, chart));
            image.shape.Should().Equal(3, 520, 900);
        }
    }

    static Dictionary<string, List<YamlNode>> Matrix(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return ((YamlMappingNode)stream.Documents[0].RootNode).Children.ToDictionary(
            kv => ((YamlScalarNode)kv.Key).Value!, kv => ((YamlSequenceNode)kv.Value).Children.ToList());
    }

    static YamlNode Node(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return stream.Documents[0].RootNode;
    }

    /// <summary>Records what each run is given and answers with metrics made from its overrides.</summary>
    sealed class RecordingRunner(Func<IReadOnlyList<string>, RunResults> results) : IPipelineRunner
    {
        public List<(string Pipeline, IReadOnlyList<string> Overrides, string RunDirectory, IReadOnlySet<string> Skip)> Calls { get; } = [];

        public RunSummary Run(string pipelinePath, IReadOnlyList<string> overrides, string runDirectory, IReadOnlySet<string> skipJobs)
        {
            Calls.Add((pipelinePath, overrides, runDirectory, skipJobs));
            return new RunSummary(runDirectory, results(overrides), TimeSpan.FromSeconds(Calls.Count));
        }
    }

    [Fact]
    public void Encoders_are_compared_under_one_yardstick_with_labelled_block_replacements_and_the_metrics_asked()
    {
        File.WriteAllText(Path.Combine(folder, "base.yaml"), "name: base\n");
        var runner = new RecordingRunner(overrides =>
        {
            var results = new RunResults();
            bool resnet = overrides.Any(o => o.StartsWith("encoder={name: onnx", StringComparison.Ordinal));
            results.Record("eval/fd_resnet18", resnet ? 1.5 : 4.0);
            results.Record("eval/probe/resnet18/accuracy", resnet ? 0.8 : 0.35);
            results.Record("eval/probe/resnet18/ceiling", 0.9);
            results.Record("train/final_loss", 0.1);
            results.AddPoint("train/loss", 0, 1.0);
            results.AddPoint("train/loss", 10, resnet ? 0.4 : 0.6);
            return results;
        });
        var context = TestJobContext.Create(folder, new TestComponents(), runner: runner);
        var options = new CompareOptions
        {
            Pipeline = "base.yaml",
            Matrix = Matrix("""
                encoder:
                  - { label: resnet18, name: onnx, weights: models/resnet18.onnx, options: { layout: maps } }
                  - { label: dinov2-random, name: dinov2, options: { hidden_size: 64 } }
                """),
            Yardstick = Node("{ name: resnet18, weights: models/resnet18.onnx }"),
            Set = ["jobs.train.steps=10", "statistics={run_dir}/stats/stat.pt"],
            SkipJobs = ["stats"],
            Metrics = ["eval/fd_resnet18", "eval/probe/resnet18/accuracy", "eval/probe/resnet18/ceiling"],
        };

        ((IJob)new CompareJob()).Run(context, options);

        runner.Calls.Select(c => Path.GetFileName(c.RunDirectory)).Should().Equal("resnet18", "dinov2-random");
        runner.Calls.Should().AllSatisfy(c =>
        {
            c.Pipeline.Should().Be(Path.Combine(folder, "base.yaml"));
            c.Skip.Should().BeEquivalentTo(["compare", "stats"]);
            c.Overrides.Take(3).Should().Equal(
                "jobs.train.steps=10",
                $"statistics={folder}/stats/stat.pt",
                "feature_extractor={name: resnet18, weights: models/resnet18.onnx}");
        });
        runner.Calls[0].Overrides[3].Should().Be("encoder={name: onnx, weights: models/resnet18.onnx, options: {layout: maps}}");
        runner.Calls[1].Overrides[3].Should().Be("encoder={name: dinov2, options: {hidden_size: 64}}");

        var output = Path.Combine(folder, "compare");
        var markdown = File.ReadAllLines(Path.Combine(output, "results.md"));
        markdown[0].Should().Be("| run | encoder | wall time (s) | eval/fd_resnet18 ↓ | eval/probe/resnet18/accuracy ↑ | eval/probe/resnet18/ceiling | status |");
        markdown[2].Should().Be("| resnet18 | resnet18 | 1 | **1.5** | **0.8** | 0.9 | ok |");
        markdown[3].Should().Be("| dinov2-random | dinov2-random | 2 | 4 | 0.35 | 0.9 | ok |");
        File.ReadAllLines(Path.Combine(output, "results.csv"))[0].Should().Be(
            "run,encoder,wall_seconds,eval/fd_resnet18,eval/probe/resnet18/accuracy,eval/probe/resnet18/ceiling,status");
        foreach (var chart in new[] { "eval_fd_resnet18.png", "eval_probe_resnet18_accuracy.png", "wall_time.png", "curve_train_loss.png" })
        {
            using var image = ImageFile.Read(Path.Combine(output, chart));
            image.shape.Should().Equal(3, Chart.Height, Chart.Width);
        }
        File.Exists(Path.Combine(output, "train_final_loss.png")).Should().BeFalse("only the metrics asked for are charted");
        context.Results.Metrics["compare/resnet18/eval/fd_resnet18"].Should().Be(1.5);
    }

    [Fact]
    public void Validation_refuses_a_matrix_or_set_that_changes_the_yardstick_and_unusable_labels_and_sweeps()
    {
        var options = new CompareOptions
        {
            Pipeline = "base.yaml",
            Matrix = Matrix("""
                feature_extractor: [{ name: inception-v3-fid }]
                feature-extractor.options.size: [1, 2]
                encoder: [{ label: resnet18 }]
                """),
            Set = ["featureExtractor.weights=x.pth", "sampler.name=heun"],
            Yardstick = Node("[a, b]"),
            Sweep = new SweepOptions { Lines = ["sampler"], Y = [] },
        };
        var validation = new JobValidationContext { Roles = new HashSet<PipelineRole>(), Data = new DataOptions() };

        var problems = ((IJob)new CompareJob()).Validate(validation, options).ToList();

        problems.Select(p => p.OptionKey).Should().BeEquivalentTo(
        [
            "matrix.feature_extractor", "matrix.feature-extractor.options.size", "matrix.encoder", "set", "yardstick",
            "sweep.y", "sweep.lines",
        ]);
        problems.First(p => p.OptionKey == "matrix.feature_extractor").Message.Should().Contain("yardstick");
        problems.First(p => p.OptionKey == "matrix.encoder").Message.Should().Contain("resnet18");
        problems.First(p => p.OptionKey == "sweep.lines").Message.Should().Contain("'sampler' is not an entry of the matrix");
    }

    [Fact]
    public void Sampler_sweep_trains_once_then_charts_quality_against_velocity_evaluations_per_sampler()
    {
        File.WriteAllText(Path.Combine(folder, "sweep.yaml"), """
            name: tiny-sweep
            device: cpu
            seed: 3
            encoder: { name: dinov2, options: { hidden_size: 32, num_hidden_layers: 1, num_attention_heads: 2, mlp_ratio: 2, patch_size: 4, image_size: 16, num_register_tokens: 0 } }
            decoder: { name: vit-decoder, options: { hidden_size: 32, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 64, patch_size: 4 } }
            denoiser: { name: dit-dh, options: { hidden_size: [32, 64], depth: [1, 1], num_heads: [2, 2], num_classes: 2 } }
            sampler: { name: euler, options: { num_steps: 3 } }
            data: { source: synthetic, image_size: 16, num_classes: 2, images_per_class: 6 }
            jobs:
              - stats: { batch_size: 12 }
              - sample: { num_images: 4, batch_size: 4, write_pngs: false }
              - eval: { reference: data, batch_size: 12 }
              - compare:
                  pipeline: sweep.yaml
                  skip_jobs: [stats]
                  set: ["statistics={run_dir}/stats/stat.pt"]
                  matrix:
                    sampler:
                      - { label: euler, name: euler }
                      - { label: heun, name: heun }
                    sampler.options.num_steps: [3, 5]
                  metrics: [eval/fd_dinov2]
                  sweep: { lines: [sampler], y: [eval/fd_dinov2, eval/probe/dinov2/accuracy] }
            """);
        var runner = services.GetRequiredService<PipelineRunner>();
        runner.LoadDefaultPlugins();

        runner.Run(Path.Combine(folder, "sweep.yaml"), [], Path.Combine(folder, "run"), new JobSelection());

        var output = Path.Combine(folder, "run", "compare");
        var csv = File.ReadAllLines(Path.Combine(output, "results.csv"));
        var header = csv[0].Split(',');
        header.Should().Equal("run", "sampler", "sampler.options.num_steps", "wall_seconds", "eval/fd_dinov2", "sample/nfe",
            "eval/probe/dinov2/accuracy", "status");
        var rows = csv.Skip(1).Select(line => line.Split(',')).ToList();
        rows.Select(r => r[0]).Should().Equal("euler_num_steps-3", "euler_num_steps-5", "heun_num_steps-3", "heun_num_steps-5");
        rows.Select(r => r[1]).Should().Equal("euler", "euler", "heun", "heun");
        // Velocity evaluations per sample as the samplers count them: Euler N - 1, Heun 2 (N - 1) on N grid points.
        rows.Select(r => r[5]).Should().Equal("2", "4", "4", "8");
        rows.Should().AllSatisfy(r => r[^1].Should().Be("ok"));
        rows.Should().AllSatisfy(r => double.IsFinite(double.Parse(r[4], CultureInfo.InvariantCulture)).Should().BeTrue());
        rows.Should().AllSatisfy(r => double.Parse(r[6], CultureInfo.InvariantCulture).Should().BeInRange(0, 1, "the probe read each run's arr_1 labels"));
        foreach (var run in rows.Select(r => r[0]))
        {
            var log = File.ReadAllText(Path.Combine(output, run, "run.log"));
            log.Should().Contain("job stats skipped");
            File.ReadAllText(Path.Combine(output, run, "pipeline.yaml")).Should().Contain(Path.Combine(folder, "run", "stats", "stat.pt"));
        }
        foreach (var chart in new[] { "sweep_eval_fd_dinov2.png", "sweep_eval_probe_dinov2_accuracy.png", "eval_fd_dinov2.png" })
        {
            using var image = ImageFile.Read(Path.Combine(output, chart));
            image.shape.Should().Equal(3, Chart.Height, Chart.Width);
            using var saturation = image.max(0).values - image.min(0).values;
            saturation.gt(0.5).sum().item<long>().Should().BeGreaterThan(100, $"{chart} has coloured lines or bars");
        }
    }
}
