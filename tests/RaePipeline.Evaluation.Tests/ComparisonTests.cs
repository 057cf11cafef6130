using RaePipeline.Host.Configuration;
using RaePipeline.Imaging;
using RaePipeline.Pipeline;
using YamlDotNet.RepresentationModel;
using static TorchSharp.torch;

namespace RaePipeline.Evaluation.Tests;

public class ComparisonTests
{
    /// <summary>A matrix as the YAML binder gives it: each entry's values as YAML nodes.</summary>
    static Dictionary<string, List<YamlNode>> Matrix(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return ((YamlMappingNode)stream.Documents[0].RootNode).Children.ToDictionary(
            kv => ((YamlScalarNode)kv.Key).Value!, kv => ((YamlSequenceNode)kv.Value).Children.ToList());
    }

    [Fact]
    public void Matrix_expands_to_every_combination_first_key_slowest_with_readable_unique_names()
    {
        var runs = MatrixRun.Expand(Matrix("""
            encoder.options.input_size: [224, 448]
            sampler.options.num_steps: [25, 50, 100]
            """));

        runs.Select(r => r.Name).Should().Equal(
            "input_size-224_num_steps-25", "input_size-224_num_steps-50", "input_size-224_num_steps-100",
            "input_size-448_num_steps-25", "input_size-448_num_steps-50", "input_size-448_num_steps-100");
        runs[4].Overrides.Should().Equal("encoder.options.input_size=448", "sampler.options.num_steps=50");

        var lists = MatrixRun.Expand(Matrix("""guidance.interval: ["[0.0, 0.7]", [0, 0.7]]"""));
        lists.Select(r => r.Name).Should().Equal("interval-_0.0_0.7", "interval-_0_0.7");
        lists.SelectMany(r => r.Overrides).Should().Equal("guidance.interval=[0.0, 0.7]", "guidance.interval=[0, 0.7]");
    }

    [Fact]
    public void Labelled_entries_replace_whole_blocks_and_name_the_runs()
    {
        var runs = MatrixRun.Expand(Matrix("""
            encoder:
              - label: resnet18
                name: onnx
                weights: ../models/resnet18.onnx
                options: { output: "/layer3/layer3.1/relu_1/Relu", layout: maps, mean: [0.485, 0.456, 0.406] }
              - { label: dinov2-random, name: dinov2, options: { hidden_size: 64 } }
            sampler.options.num_steps:
              - { label: fast, value: 10 }
              - 50
            """));

        runs.Select(r => r.Name).Should().Equal("resnet18_fast", "resnet18_num_steps-50", "dinov2-random_fast", "dinov2-random_num_steps-50");
        runs[0].Settings.Select(s => s.Value.Display).Should().Equal("resnet18", "fast");
        runs[1].Settings[1].Value.Display.Should().Be("50", "an unlabelled value shows its text");

        // The override replaces the pipeline's encoder block whole (the label is not part of it), then sets the steps.
        var file = Path.Combine(Path.GetTempPath(), $"compare-override-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(file, """
            encoder: { name: dinov2, weights: old, options: { hidden_size: 768, patch_size: 14 } }
            sampler: { name: euler, options: { num_steps: 50 } }
            """);
        PipelineYaml yaml;
        try
        {
            yaml = PipelineYaml.Load(file, PipelineOverride.Set(runs[0].Overrides));
        }
        finally
        {
            File.Delete(file);
        }
        var encoder = (YamlMappingNode)yaml.Root["encoder"];
        encoder.Children.Keys.Select(k => k.ToString()).Should().Equal("name", "weights", "options");
        encoder["name"].ToString().Should().Be("onnx");
        encoder["weights"].ToString().Should().Be("../models/resnet18.onnx");
        var options = (YamlMappingNode)encoder["options"];
        options["output"].ToString().Should().Be("/layer3/layer3.1/relu_1/Relu");
        ((YamlSequenceNode)options["mean"]).Children.Select(c => c.ToString()).Should().Equal("0.485", "0.456", "0.406");
        options.Children.Should().NotContainKey(new YamlScalarNode("patch_size"), "the old block is replaced, not merged");
        yaml.Root["sampler"]["options"]["num_steps"].ToString().Should().Be("10");
    }

    [Fact]
    public void A_label_without_a_value_is_refused_naming_the_entry()
    {
        var act = () => MatrixRun.Expand(Matrix("encoder: [{ label: resnet18 }]"));

        act.Should().Throw<ArgumentException>().WithMessage("*'encoder'*resnet18*value*");
    }

    static MatrixRun[] ThreeEncoders() =>
    [
        .. MatrixRun.Expand(Matrix("""
            encoder:
              - { label: resnet18, name: onnx }
              - { label: mae-random, name: mae }
              - { label: dinov2-random, name: dinov2 }
            """)),
    ];

    static RunSummary Summary(double fd, double accuracy, double extra)
    {
        var results = new RunResults();
        results.Record("eval/fd_resnet18", fd);
        results.Record("eval/probe/resnet18/accuracy", accuracy);
        results.Record("train/images_per_second", extra);
        return new RunSummary("x", results, TimeSpan.FromSeconds(3));
    }

    [Fact]
    public void Report_shows_the_metrics_asked_in_their_order_with_the_best_of_each_marked()
    {
        var runs = ThreeEncoders();
        var report = new ComparisonReport(
        [
            new ComparisonEntry(runs[0], Summary(fd: 3.5, accuracy: 0.71, extra: 40), null),
            new ComparisonEntry(runs[1], Summary(fd: 2.25, accuracy: 0.4, extra: 50), null),
            new ComparisonEntry(runs[2], null, "out of memory, really"),
        ], ["eval/probe/resnet18/accuracy", "eval/fd_resnet18"]);

        var csv = report.ToCsv().TrimEnd().Split('\n');
        csv[0].Should().Be("run,encoder,wall_seconds,eval/probe/resnet18/accuracy,eval/fd_resnet18,status");
        csv[1].Should().Be("resnet18,resnet18,3,0.71,3.5,ok");
        csv[3].Should().Be("dinov2-random,dinov2-random,,,,\"failed: out of memory, really\"");
        var markdown = report.ToMarkdown().TrimEnd().Split('\n');
        markdown[0].Should().Be("| run | encoder | wall time (s) | eval/probe/resnet18/accuracy ↑ | eval/fd_resnet18 ↓ | status |");
        markdown[2].Should().Be("| resnet18 | resnet18 | 3 | **0.71** | 3.5 | ok |");
        markdown[3].Should().Be("| mae-random | mae-random | 3 | 0.4 | **2.25** | ok |");
        markdown[^1].Should().Contain("bold");
        report.Best("eval/fd_resnet18").Should().Be(1);
        report.Best("train/images_per_second").Should().Be(1, "throughput: higher is better");
        MetricDirection.Lower.Best([2.0, null, 2.0]).Should().BeNull("equal values single out no run");
        MetricDirection.None.Best([1.0, 2.0]).Should().BeNull();

        new ComparisonReport(report.Entries, []).MetricNames.Should().Equal(
            "train/images_per_second", "eval/fd_resnet18", "eval/probe/resnet18/accuracy");
    }

    [Theory]
    [InlineData("eval/fd_resnet18", MetricDirection.Lower)]
    [InlineData("eval/trained/fid", MetricDirection.Lower)]
    [InlineData("eval/kid_resnet18", MetricDirection.Lower)]
    [InlineData("eval/sfid", MetricDirection.Lower)]
    [InlineData("train/final_loss", MetricDirection.Lower)]
    [InlineData("eval/probe/resnet18/accuracy", MetricDirection.Higher)]
    [InlineData("eval/precision", MetricDirection.Higher)]
    [InlineData("eval/recall", MetricDirection.Higher)]
    [InlineData("eval/is", MetricDirection.Higher)]
    [InlineData("reconstruct/psnr", MetricDirection.Higher)]
    [InlineData("eval/images_per_second", MetricDirection.Higher)]
    [InlineData("sample/nfe", MetricDirection.None)]
    [InlineData("eval/fdx", MetricDirection.None)]
    [InlineData("eval/num_samples", MetricDirection.None)]
    public void Metric_directions_follow_the_metric_names(string metric, MetricDirection expected) =>
        MetricDirections.Of(metric).Should().Be(expected);

    [Fact]
    public void Charts_are_png_files_of_the_chart_size_with_coloured_bars_and_lines()
    {
        var folder = Path.Combine(Path.GetTempPath(), "rae-charts-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            var bars = Path.Combine(folder, "bars.png");
            var lines = Path.Combine(folder, "lines.png");
            Chart.Bars(bars, "eval/fid", ["a", "b", "c"], [3.0, 5.5, 4.0], best: 0, MetricDirection.Lower);
            Chart.Lines(lines, "train/loss", "step", "loss",
            [
                new ChartSeries("a", [(0, 1.0), (10, 0.5), (20, 0.25)]),
                new ChartSeries("b", [(0, 1.2), (10, 0.7), (20, double.NaN), (30, 0.6)]),
            ]);

            foreach (var path in new[] { bars, lines })
            {
                using var image = ImageFile.Read(path);
                image.shape.Should().Equal(3, Chart.Height, Chart.Width);
                // Not blank: most pixels are the white background, but a good share is drawn (axes, text, bars,
                // lines) and some of it is saturated colour (the bars' and lines' palette), not only grey text.
                using var drawn = image.lt(0.9).any(0).to(float32).mean();
                drawn.item<float>().Should().BeInRange(0.01f, 0.6f, path);
                using var saturation = image.max(0).values - image.min(0).values;
                saturation.gt(0.5).sum().item<long>().Should().BeGreaterThan(200, path);
            }

            // The best bar is drawn in orange, the others in blue.
            using var barsImage = ImageFile.Read(bars);
            using var orange = barsImage[0].gt(0.9).logical_and(barsImage[1].gt(0.4)).logical_and(barsImage[1].lt(0.6)).logical_and(barsImage[2].lt(0.2));
            orange.sum().item<long>().Should().BeGreaterThan(1000);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
