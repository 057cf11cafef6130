namespace RaePipeline.Pipelines.Tests;

/// <summary>`rae sample --shard i/N` runs merged with `rae sample --merge` equal one unsharded run byte for byte.</summary>
public class ShardedSamplingTests
{
    const string TinyPipeline = TinyPipelines.Components + "guidance: { method: cfg, scale: 1.5, interval: [0.0, 1.0] }\n";

    [Fact]
    public void Two_shards_merged_equal_the_single_run_npz_byte_for_byte()
    {
        using var rae = new Rae();
        var pipeline = rae.Write("tiny.yaml", TinyPipeline);
        var single = Path.Combine(rae.Folder, "single");
        var sharded = Path.Combine(rae.Folder, "sharded");
        string[] common = ["--num-images", "7", "--batch-size", "2", "--write-pngs", "false"];
        rae.Run(["sample", pipeline, "--run-dir", single, .. common]);
        rae.Run(["sample", pipeline, "--run-dir", sharded, "--shard", "1/2", .. common]);
        rae.Run(["sample", pipeline, "--run-dir", sharded, "--shard", "0/2", .. common]);
        rae.Run(["sample", pipeline, "--run-dir", sharded, "--merge", .. common]);

        var expected = File.ReadAllBytes(Path.Combine(single, "samples", "samples.npz"));
        var merged = File.ReadAllBytes(Path.Combine(sharded, "samples", "samples.npz"));
        merged.Should().Equal(expected);
        File.Exists(Path.Combine(single, "samples", "grid.png")).Should().BeTrue();
        // Different seeds give different images: the byte equality above is not vacuous.
        var other = Path.Combine(rae.Folder, "other");
        rae.Run(["sample", pipeline, "--run-dir", other, "--seed", "6", .. common]);
        File.ReadAllBytes(Path.Combine(other, "samples", "samples.npz")).Should().NotEqual(expected);
    }
}
