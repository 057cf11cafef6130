using Microsoft.Extensions.Logging.Abstractions;
using RaePipeline.Abstractions;
using RaePipeline.Autoencoding;
using RaePipeline.Distributed;
using RaePipeline.Pipeline;
using RaePipeline.Weights;
using TorchSharp;

namespace RaePipeline.Training.Tests;

/// <summary>
/// <c>encode</c>, <c>reconstruct</c> and <c>stats</c> as array jobs: shards run one after another in this process and
/// joined with <c>merge</c> equal one run (the files byte for byte, the statistics to 1e-10); a shard killed after k
/// batches resumes from what it wrote; partial results of other settings are refused with a message naming the folder.
/// </summary>
public class ShardedAutoencodingJobsTests
{
    static readonly string[] ThreeShards = ["2/3", "0/3", "1/3"];

    /// <summary>7 random 16 px images in an npz (4 batches of 2: the last one short).</summary>
    static string WriteImages(TemporaryFolder folder, string name = "images.npz", int seed = 9)
    {
        var path = folder.Combine(name);
        using var images = torch.randint(0, 256, [7, TinyPipeline.ImageSize, TinyPipeline.ImageSize, 3], dtype: torch.uint8, generator: new torch.Generator((ulong)seed));
        NpzFile.Write(path, [new("arr_0", images)]);
        return path;
    }

    internal static TestComponents Components(CountingEncoder encoder) => new()
    {
        EncoderOrNull = encoder,
        CreateDecoder = () => new ProjectionDecoder(encoder.LatentShape, TinyPipeline.Patch),
    };

    internal static CountingEncoder Encoder() => new(new PatchMeanEncoder(TinyPipeline.ImageSize, TinyPipeline.Patch, TinyPipeline.Channels, seed: 3));

    [Fact]
    public void Encode_shards_merged_equal_the_single_run_byte_for_byte_and_a_killed_shard_resumes()
    {
        using var folder = new TemporaryFolder();
        var images = WriteImages(folder);
        var encoder = Encoder();
        using var components = Components(encoder);
        var context = TinyPipeline.Context(components, folder.Path, TinyPipeline.Data());
        EncodeJobOptions Options(string output, string? shard = null, bool merge = false) =>
            new() { Input = images, Output = folder.Combine(output), BatchSize = 2, Shard = shard, Merge = merge };

        new EncodeJob().Run(context, Options("single.safetensors"));
        encoder.Calls.Should().Be(4);
        Directory.Exists(folder.Combine("single.chunks")).Should().BeFalse("the chunks are removed once the file holds them");

        foreach (var shard in ThreeShards) new EncodeJob().Run(context, Options("sharded.safetensors", shard));
        File.Exists(folder.Combine("sharded.safetensors")).Should().BeFalse("a shard writes only its chunks");
        Directory.GetFiles(folder.Combine("sharded.chunks"), "batch-*.npz").Should().HaveCount(4);
        new EncodeJob().Run(context, Options("sharded.safetensors", merge: true));
        File.ReadAllBytes(folder.Combine("sharded.safetensors")).Should().Equal(File.ReadAllBytes(folder.Combine("single.safetensors")));
        using (var latents = SafeTensorsFile.Read(folder.Combine("single.safetensors"))["latents"])
        {
            latents.shape.Should().Equal(7, TinyPipeline.Channels, TinyPipeline.ImageSize / TinyPipeline.Patch, TinyPipeline.ImageSize / TinyPipeline.Patch);
            latents.abs().sum().item<float>().Should().BeGreaterThan(0);
        }

        // Shard 0/2 holds batches 0 and 1; killed while encoding its second batch, it keeps the first.
        encoder.Calls = 0;
        encoder.FailAtCall = 2;
        FluentActions.Invoking(() => new EncodeJob().Run(context, Options("resumed.safetensors", "0/2"))).Should().Throw<InvalidOperationException>().WithMessage("killed");
        Directory.GetFiles(folder.Combine("resumed.chunks"), "batch-*.npz").Select(Path.GetFileName).Should().Equal("batch-000000.npz");
        encoder.FailAtCall = null;
        encoder.Calls = 0;
        new EncodeJob().Run(context, Options("resumed.safetensors", "0/2"));
        encoder.Calls.Should().Be(1, "batch 0 was kept from the killed run");
        FluentActions.Invoking(() => new EncodeJob().Run(context, Options("resumed.safetensors", merge: true)))
            .Should().Throw<InvalidDataException>().Where(e => e.Message.Contains(folder.Combine("resumed.chunks")) && e.Message.Contains("batch-000002"));
        new EncodeJob().Run(context, Options("resumed.safetensors", "1/2"));
        new EncodeJob().Run(context, Options("resumed.safetensors", merge: true));
        File.ReadAllBytes(folder.Combine("resumed.safetensors")).Should().Equal(File.ReadAllBytes(folder.Combine("single.safetensors")));
    }

    [Fact]
    public void Encode_chunks_of_other_inputs_are_refused_naming_the_folder()
    {
        using var folder = new TemporaryFolder();
        var images = WriteImages(folder);
        var other = WriteImages(folder, "other.npz", seed: 10);
        using var components = Components(Encoder());
        var context = TinyPipeline.Context(components, folder.Path, TinyPipeline.Data());
        var output = folder.Combine("latents.safetensors");
        new EncodeJob().Run(context, new EncodeJobOptions { Input = images, Output = output, BatchSize = 2, Shard = "0/2" });
        new EncodeJob().Run(context, new EncodeJobOptions { Input = other, Output = output, BatchSize = 2, Shard = "1/2" });

        foreach (var (input, shard, merge) in new[] { (other, "0/2", false), (images, (string?)null, true) })
            FluentActions.Invoking(() => new EncodeJob().Run(context, new EncodeJobOptions { Input = input, Output = output, BatchSize = 2, Shard = shard, Merge = merge }))
                .Should().Throw<ChunkMismatchException>().Where(e => e.Folder == folder.Combine("latents.chunks") && e.Message.Contains(folder.Combine("latents.chunks")));
        File.Exists(output).Should().BeFalse();
    }

    [Fact]
    public void Reconstruct_shards_merged_equal_the_single_run_and_a_killed_shard_resumes()
    {
        using var folder = new TemporaryFolder();
        var images = WriteImages(folder);
        var encoder = Encoder();
        using var components = Components(encoder);
        ReconstructJobOptions Options(string output, string? shard = null, bool merge = false) =>
            new() { Input = images, Output = $"{output}/grid.png", Limit = 0, BatchSize = 2, Shard = shard, Merge = merge };
        var context = TinyPipeline.Context(components, folder.Path, TinyPipeline.Data());
        new ReconstructJob().Run(context, Options("single"));

        var sharded = TinyPipeline.Context(components, folder.Path, TinyPipeline.Data());
        foreach (var shard in ThreeShards) new ReconstructJob().Run(sharded, Options("sharded", shard));
        sharded.Results.Metrics.Should().NotContainKey("reconstruct/psnr", "a shard scores nothing");
        // Started again, shard 1/3 (batch 2) finds its chunk on disk and computes nothing.
        encoder.Calls = 0;
        new ReconstructJob().Run(sharded, Options("sharded", "1/3"));
        encoder.Calls.Should().Be(0, "the shard's batch is on disk");
        new ReconstructJob().Run(sharded, Options("sharded", merge: true));

        foreach (var file in new[] { "originals.npz", "reconstructions.npz", "grid.png" })
            File.ReadAllBytes(folder.Combine("sharded", file)).Should().Equal(File.ReadAllBytes(folder.Combine("single", file)), file);
        foreach (var key in new[] { "reconstruct/psnr", "reconstruct/ssim" })
            sharded.Results.Metrics[key].Should().Be(context.Results.Metrics[key], key);
        context.Results.Metrics["reconstruct/psnr"].Should().BeInRange(1, 100);
        Directory.Exists(folder.Combine("sharded", "chunks")).Should().BeFalse();

        // A run killed after one batch resumes from it.
        encoder.Calls = 0;
        encoder.FailAtCall = 2;
        FluentActions.Invoking(() => new ReconstructJob().Run(context, Options("resumed"))).Should().Throw<InvalidOperationException>().WithMessage("killed");
        encoder.FailAtCall = null;
        encoder.Calls = 0;
        var resumed = TinyPipeline.Context(components, folder.Path, TinyPipeline.Data());
        new ReconstructJob().Run(resumed, Options("resumed"));
        encoder.Calls.Should().Be(3);
        File.ReadAllBytes(folder.Combine("resumed", "reconstructions.npz")).Should().Equal(File.ReadAllBytes(folder.Combine("single", "reconstructions.npz")));

        // Chunks of another batch size are not mixed in.
        new ReconstructJob().Run(context, Options("mixed", "0/2"));
        FluentActions.Invoking(() => new ReconstructJob().Run(context, new ReconstructJobOptions { Input = images, Output = "mixed/grid.png", Limit = 0, BatchSize = 3, Shard = "0/2" }))
            .Should().Throw<ChunkMismatchException>().WithMessage($"*{folder.Combine("mixed", "chunks")}*other settings*");
    }

    [Fact]
    public void Stats_shards_merged_equal_the_single_run_to_1e_10_and_a_killed_shard_resumes_from_its_saved_sums()
    {
        using var folder = new TemporaryFolder();
        var encoder = Encoder();
        using var components = Components(encoder);
        var data = TinyPipeline.Data(); // 32 images: 8 batches of 4
        StatsJobOptions Options(string output, string? shard = null, bool merge = false) =>
            new() { BatchSize = 4, Output = $"{output}/stat", Shard = shard, Merge = merge, SaveEvery = 1 };
        var job = new StatsJob(NullLogger<StatsJob>.Instance);
        var single = TinyPipeline.Context(components, folder.Path, data, seed: 1);
        job.Run(single, Options("single"));
        encoder.Calls.Should().Be(8);

        var sharded = TinyPipeline.Context(components, folder.Path, data, seed: 1);
        foreach (var shard in ThreeShards) job.Run(sharded, Options("sharded", shard));
        File.Exists(folder.Combine("sharded", "stat.safetensors")).Should().BeFalse("a shard saves only its sums");
        FluentActions.Invoking(() => job.Run(sharded, Options("other", merge: true)))
            .Should().Throw<InvalidDataException>().WithMessage($"*{folder.Combine("other", "stat.chunks")}*");

        // Shard 1/3 (batches 2..4) stopped after two of its batches resumes from its saved sums.
        using var cancellation = new CancellationTokenSource();
        encoder.Calls = 0;
        encoder.CancelAtCall = (2, cancellation);
        var killed = TinyPipeline.Context(components, folder.Path, data, seed: 1, cancellation: cancellation.Token);
        FluentActions.Invoking(() => job.Run(killed, Options("resumed", "1/3"))).Should().Throw<OperationCanceledException>();
        encoder.CancelAtCall = null;
        encoder.Calls = 0;
        job.Run(sharded, Options("resumed", "1/3"));
        encoder.Calls.Should().Be(1, "two of the shard's three batches were saved before it stopped");
        job.Run(sharded, Options("resumed", "0/3"));
        job.Run(sharded, Options("resumed", "2/3"));

        foreach (var merged in new[] { "sharded", "resumed" })
        {
            var context = TinyPipeline.Context(components, folder.Path, data, seed: 1);
            job.Run(context, Options(merged, merge: true));
            var expected = SafeTensorsFile.Read(folder.Combine("single", "stat.safetensors"));
            var actual = SafeTensorsFile.Read(folder.Combine(merged, "stat.safetensors"));
            actual.Keys.Should().BeEquivalentTo(expected.Keys).And.Contain("mean");
            foreach (var key in expected.Keys)
                actual[key].to(torch.float64).sub(expected[key].to(torch.float64)).abs().max().item<double>().Should().BeLessThan(1e-10, key);
            context.Results.Metrics["stats/images"].Should().Be(32);
            context.Results.Metrics["stats/var_mean"].Should().BeApproximately(single.Results.Metrics["stats/var_mean"], 1e-10);
            components.Statistics.Should().NotBeNull();
            Directory.Exists(folder.Combine(merged, "stat.chunks")).Should().BeFalse();
        }

        // Sums saved with another batch size are not mixed in.
        job.Run(sharded, Options("mixed", "0/2"));
        FluentActions.Invoking(() => job.Run(sharded, new StatsJobOptions { BatchSize = 8, Output = "mixed/stat", Shard = "0/2" }))
            .Should().Throw<ChunkMismatchException>().WithMessage($"*{folder.Combine("mixed", "stat.chunks")}*");
    }
}
