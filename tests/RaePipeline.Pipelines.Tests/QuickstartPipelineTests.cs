using System.Text.Json.Nodes;

namespace RaePipeline.Pipelines.Tests;

/// <summary>
/// pipelines/quickstart.yaml runs every job end to end through the host. Shortened here with --set (a few
/// steps each) so the suite stays fast; the full run's numbers are in the README.
/// </summary>
public class QuickstartPipelineTests
{
    [Fact]
    public void Quickstart_runs_all_jobs_and_writes_metrics_grids_and_checkpoints()
    {
        using var rae = new Rae();
        var pipeline = Path.Combine(RepositoryRoot.Path, "pipelines", "quickstart.yaml");
        var run = Path.Combine(rae.Folder, "run");
        rae.Run("run", pipeline, "--run-dir", run,
            "--set", "data.images_per_class=8",
            "--set", "jobs.train-decoder.steps=6", "--set", "jobs.train-decoder.grid_every=3", "--set", "jobs.train-decoder.checkpoint_every=3",
            "--set", "jobs.train.steps=6", "--set", "jobs.train.batch_size=8", "--set", "jobs.train.checkpoint_every=3", "--set", "jobs.train.sample_every=3",
            "--set", "jobs.sample.num_images=8", "--set", "jobs.stats.batch_size=8");

        var metrics = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "metrics.json")))!.AsObject();
        foreach (var key in new[] { "stats/images", "reconstruct/psnr", "reconstruct/ssim", "eval/untrained/fd_dinov2", "eval/trained/fd_dinov2" })
        {
            metrics.ContainsKey(key).Should().BeTrue($"metrics.json has {key} (has: {string.Join(", ", metrics.Select(m => m.Key))})");
            double.IsFinite(metrics[key]!.GetValue<double>()).Should().BeTrue(key);
        }
        metrics["stats/images"]!.GetValue<double>().Should().Be(32, "4 classes x 8 images");
        File.Exists(Path.Combine(run, "samples", "grid.png")).Should().BeTrue();
        File.Exists(Path.Combine(run, "samples", "grid_by_class.png")).Should().BeTrue();
        File.Exists(Path.Combine(run, "samples-untrained", "samples.npz")).Should().BeTrue();
        File.Exists(Path.Combine(run, "reconstruct", "grid.png")).Should().BeTrue();
        File.Exists(Path.Combine(run, "reconstruct", "reconstructions.npz")).Should().BeTrue("the rFID input");
        File.Exists(Path.Combine(run, "stats", "stat.pt")).Should().BeTrue();
        File.ReadAllText(Path.Combine(run, "run.log")).Should().Contain("randomly initialized");
        File.ReadAllText(Path.Combine(run, "curves.csv")).Should().Contain("train/loss");
    }
}
