using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RaePipeline.Host;
using RaePipeline.Host.Running;
using RaePipeline.Imaging;
using RaePipeline.Pipeline;
using RaePipeline.Weights;
using static TorchSharp.torch;

namespace RaePipeline.Evaluation.Tests;

/// <summary>
/// A compare run through the real host: two encoder input sizes of the parity kit's tiny DINOv2 (real weights in the
/// HuggingFace folder layout; the kit's input size and twice it, multiples of its patch size), each run scoring the
/// same images with eval in the encoder's feature space.
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
}
