using RaePipeline.Imaging;
using RaePipeline.Pipeline;

namespace RaePipeline.Evaluation.Tests;

public class ComparisonTests
{
    [Fact]
    public void Matrix_expands_to_every_combination_first_key_slowest_with_readable_unique_names()
    {
        var runs = MatrixRun.Expand(new Dictionary<string, List<string>>
        {
            ["encoder.options.input_size"] = ["224", "448"],
            ["sampler.options.num_steps"] = ["25", "50", "100"],
        });

        runs.Select(r => r.Name).Should().Equal(
            "input_size-224_num_steps-25", "input_size-224_num_steps-50", "input_size-224_num_steps-100",
            "input_size-448_num_steps-25", "input_size-448_num_steps-50", "input_size-448_num_steps-100");
        runs[4].Overrides.Should().Equal("encoder.options.input_size=448", "sampler.options.num_steps=50");

        var lists = MatrixRun.Expand(new Dictionary<string, List<string>> { ["guidance.interval"] = ["[0.0, 0.7]", "[0, 0.7]"] });
        lists.Select(r => r.Name).Should().Equal("interval-_0.0_0.7", "interval-_0_0.7");
    }

    [Fact]
    public void Report_tables_hold_settings_wall_time_throughput_first_metrics_and_failures()
    {
        var ok = new RunResults();
        ok.Record("eval/fid", 12.5);
        ok.Record("train/images_per_second", 40);
        var runs = MatrixRun.Expand(new Dictionary<string, List<string>> { ["encoder.options.input_size"] = ["224", "448"] });
        var report = new ComparisonReport(
        [
            new ComparisonEntry(runs[0], new RunSummary("a", ok, TimeSpan.FromSeconds(3)), null),
            new ComparisonEntry(runs[1], null, "out of memory, really"),
        ]);

        var csv = report.ToCsv().TrimEnd().Split('\n');
        csv[0].Should().Be("run,encoder.options.input_size,wall_seconds,train/images_per_second,eval/fid,status");
        csv[1].Should().Be("input_size-224,224,3,40,12.5,ok");
        csv[2].Should().Be("input_size-448,448,,,,\"failed: out of memory, really\"");
        var markdown = report.ToMarkdown().TrimEnd().Split('\n');
        markdown.Should().HaveCount(4);
        markdown[0].Should().Be("| run | encoder.options.input_size | wall time (s) | train/images_per_second | eval/fid | status |");
    }

    [Fact]
    public void Charts_are_png_files_of_the_chart_size_with_coloured_bars_and_lines()
    {
        var folder = Path.Combine(Path.GetTempPath(), "rae-charts-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            var bars = Path.Combine(folder, "bars.png");
            var lines = Path.Combine(folder, "lines.png");
            Chart.Bars(bars, "eval/fid", ["a", "b"], [3.0, 5.5]);
            Chart.Lines(lines, "train/loss",
            [
                ("a", [(0L, 1.0), (10L, 0.5), (20L, 0.25)]),
                ("b", [(0L, 1.2), (10L, 0.7), (20L, 0.6)]),
            ]);

            foreach (var path in new[] { bars, lines })
            {
                using var image = ImageFile.Read(path);
                image.shape.Should().Equal(3, 520, 900);
                // Something other than white and grey was drawn: a saturated pixel (bars / lines use the palette).
                using var saturation = image.max(0).values - image.min(0).values;
                saturation.max().item<float>().Should().BeGreaterThan(0.3f, path);
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
