using System.Text.Json.Nodes;
using RaePipeline.Distributed;

namespace RaePipeline.Pipelines.Tests;

/// <summary>
/// The host in a run of several processes: rank 0 alone writes run.log (naming every rank's host and device) and
/// metrics.json (with run/world_size), and a job that fails on the ranks ends the run with a message naming them.
/// </summary>
public class DistributedRunTests
{
    const string TinyStatsPipeline = """
        device: cpu
        seed: 3
        encoder:
          name: dinov2
          options: { hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, mlp_ratio: 2, patch_size: 4, image_size: 16, num_register_tokens: 4 }
        data: { source: synthetic, image_size: 16, num_classes: 2, images_per_class: 3 }
        jobs:
          - stats: { batch_size: 4 }
        """;

    /// <summary>The host as built in its own folder (beside its plugins), in this test's configuration.</summary>
    internal static string RaeAssembly
    {
        get
        {
            var relative = Path.GetRelativePath(Path.Combine(RepositoryRoot.Path, "tests", "RaePipeline.Pipelines.Tests"), AppContext.BaseDirectory);
            var path = Path.Combine(RepositoryRoot.Path, "src", "Host", relative, "rae.dll");
            File.Exists(path).Should().BeTrue($"the host is built beside the tests ({path})");
            return path;
        }
    }

    [Fact]
    public void A_single_process_run_records_world_size_1_and_names_its_host_and_device()
    {
        using var rae = new Rae();
        var pipeline = rae.Write("tiny.yaml", TinyStatsPipeline);
        var folder = Path.Combine(rae.Folder, "run");
        rae.Run("run", pipeline, "--run-dir", folder);
        JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "metrics.json")))!["run/world_size"]!.GetValue<double>().Should().Be(1);
        File.ReadAllText(Path.Combine(folder, "run.log")).Should().Contain($"rank 0 of 1: host {Environment.MachineName}").And.Contain("device cpu");
    }

    [MpiFact]
    public void Under_two_ranks_rank_0_writes_the_log_naming_both_ranks_and_the_world_size()
    {
        using var rae = new Rae();
        var pipeline = rae.Write("tiny.yaml", TinyStatsPipeline);
        var folder = Path.Combine(rae.Folder, "run");
        var result = MpiLaunch.Run(2, RaeAssembly, ["run", pipeline, "--run-dir", folder], TimeSpan.FromMinutes(3));
        result.ExitCode.Should().Be(0, result.Output);
        var log = File.ReadAllText(Path.Combine(folder, "run.log"));
        log.Should().Contain("rank 0 of 2: host ").And.Contain("rank 1 of 2: host ").And.Contain("device cpu").And.Contain("2 ranks over Open MPI");
        log.Split('\n').Count(l => l.Contains("job stats started")).Should().Be(1, "only rank 0 writes run.log");
        JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "metrics.json")))!["run/world_size"]!.GetValue<double>().Should().Be(2);
        // Rank 1 logs warnings and errors only (the random encoder's warning), marked with its rank.
        result.Output.Split('\n').Count(l => l.Contains("job stats started")).Should().Be(1);
        result.Output.Split('\n').Where(l => l.Contains("[rank 1]")).Should().NotBeEmpty().And.AllSatisfy(l => l.Should().Contain("warn"));
    }

    [MpiFact]
    public void Under_two_ranks_a_failing_job_ends_the_run_with_a_message_naming_the_rank()
    {
        using var rae = new Rae();
        var pipeline = rae.Write("tiny.yaml", TinyStatsPipeline);
        var result = MpiLaunch.Run(2, RaeAssembly,
            ["encode", pipeline, "--run-dir", Path.Combine(rae.Folder, "run"), "--input", Path.Combine(rae.Folder, "missing.png"), "--output", "z.safetensors"],
            TimeSpan.FromMinutes(3), new Dictionary<string, string> { [LaunchEnvironment.TimeoutVariable] = "120" });
        result.TimedOut.Should().BeFalse(result.Output);
        result.ExitCode.Should().NotBe(0);
        result.Output.Should().MatchRegex(@"rank [01] of 2 \(.+\) failed: job encode: .*missing\.png");
        result.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(90), "the failing rank aborts the run; nobody waits for the timeout");
    }
}
