using RaePipeline.Weights;
using TorchSharp;

namespace RaePipeline.Pipelines.Tests;

/// <summary>
/// `rae stats` and `rae encode` as array jobs from the command line: `--shard i/N` runs, then `--merge`, give what one
/// run gives (the statistics to 1e-10, the latents byte for byte).
/// </summary>
public class ArrayJobsTests
{
    [Fact]
    public void Shards_then_merge_from_the_command_line_equal_one_run()
    {
        using var rae = new Rae();
        var pipeline = rae.Write("tiny.yaml", TinyPipelines.Components);
        using (var images = torch.randint(0, 256, [5, 16, 16, 3], dtype: torch.uint8, generator: new torch.Generator(9)))
            NpzFile.Write(Path.Combine(rae.Folder, "images.npz"), [new("arr_0", images)]);
        string Folder(string name) => Path.Combine(rae.Folder, name);

        rae.RunOnOneThread("stats", pipeline, "--run-dir", Folder("single"), "--batch-size", "2");
        rae.RunOnOneThread("encode", pipeline, "--input", "images.npz", "--output", "single.safetensors", "--batch-size", "2");
        foreach (var shard in new[] { "1/2", "0/2" })
        {
            rae.RunOnOneThread("stats", pipeline, "--run-dir", Folder("sharded"), "--batch-size", "2", "--shard", shard);
            rae.RunOnOneThread("encode", pipeline, "--input", "images.npz", "--output", "sharded.safetensors", "--batch-size", "2", "--shard", shard);
        }
        File.Exists(Path.Combine(Folder("sharded"), "stats", "stat.safetensors")).Should().BeFalse();
        rae.RunOnOneThread("stats", pipeline, "--run-dir", Folder("sharded"), "--batch-size", "2", "--merge");
        rae.RunOnOneThread("encode", pipeline, "--input", "images.npz", "--output", "sharded.safetensors", "--batch-size", "2", "--merge");

        File.ReadAllBytes(Folder("sharded.safetensors")).Should().Equal(File.ReadAllBytes(Folder("single.safetensors")));
        var single = SafeTensorsFile.Read(Path.Combine(Folder("single"), "stats", "stat.safetensors"));
        var merged = SafeTensorsFile.Read(Path.Combine(Folder("sharded"), "stats", "stat.safetensors"));
        merged.Keys.Should().BeEquivalentTo(single.Keys);
        foreach (var key in single.Keys)
            merged[key].to(torch.float64).sub(single[key].to(torch.float64)).abs().max().item<double>().Should().BeLessThan(1e-10, key);
    }
}
