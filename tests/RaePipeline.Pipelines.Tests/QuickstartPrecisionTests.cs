using System.Globalization;
using System.Text.Json.Nodes;

namespace RaePipeline.Pipelines.Tests;

/// <summary>
/// Issue 11's fidelity bar for the fast path: the quickstart's Fréchet distance computed in bf16 lies within 10% of
/// the one computed in fp32. Both runs are pipelines/quickstart.yaml through the host, same seed, shortened with --set
/// so the test stays fast (benchmarks/quickstart-precision.sh runs the full quickstart both ways; its figures are in the
/// README, "Performance").
/// </summary>
public class QuickstartPrecisionTests
{
    static readonly string[] Shortened =
    [
        "--set", "data.images_per_class=8",
        "--set", "jobs.stats.batch_size=32",
        "--set", "jobs.train-decoder.steps=4", "--set", "jobs.train-decoder.grid_every=0", "--set", "jobs.train-decoder.checkpoint_every=0",
        "--set", "jobs.reconstruct.limit=4",
        "--set", "jobs.sample.num_images=32", "--set", "jobs.sample.batch_size=16",
        "--set", "jobs.train.steps=8", "--set", "jobs.train.batch_size=8", "--set", "jobs.train.checkpoint_every=0", "--set", "jobs.train.sample_every=0",
    ];

    static JsonObject Run(Rae rae, string precision)
    {
        var run = Path.Combine(rae.Folder, precision);
        rae.Run(["run", Path.Combine(RepositoryRoot.Path, "pipelines", "quickstart.yaml"), "--run-dir", run, "--set", $"precision={precision}", .. Shortened]);
        return JsonNode.Parse(File.ReadAllText(Path.Combine(run, "metrics.json")))!.AsObject();
    }

    [Fact]
    public void Quickstart_frechet_distance_in_bf16_is_within_10_percent_of_fp32()
    {
        using var rae = new Rae();
        var fp32 = Run(rae, "fp32");
        var bf16 = Run(rae, "bf16");
        foreach (var key in new[] { "eval/untrained/fd_dinov2", "eval/trained/fd_dinov2" })
        {
            double reference = fp32[key]!.GetValue<double>(), reduced = bf16[key]!.GetValue<double>();
            double deviation = Math.Abs(reduced - reference) / reference;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{key}: fp32 {reference:G5} bf16 {reduced:G5} relative deviation {deviation:P2}"));
            reference.Should().BeGreaterThan(0, key);
            reduced.Should().NotBe(reference, $"{key}: the bf16 run computes in bf16, so its distance differs in some digit");
            deviation.Should().BeLessThanOrEqualTo(0.10, $"{key}: bf16 {reduced} against fp32 {reference}");
        }
    }
}
