using Microsoft.Extensions.Logging.Abstractions;
using RaePipeline.Autoencoding;
using RaePipeline.Data;
using RaePipeline.Weights;
using TorchSharp;

namespace RaePipeline.Training.Tests;

/// <summary>
/// <c>stats</c> and <c>reconstruct</c> on the pipeline's data: statistics read from the latent cache equal those of
/// images encoded batch by batch (and the cache is filled once, for every job after it); reconstructions carry the
/// data's labels, so eval's probe can score them.
/// </summary>
public class AutoencodingJobsOnDataTests
{
    [Fact]
    public void Stats_read_from_the_latent_cache_equal_the_statistics_of_encoded_images_and_fill_the_cache_once()
    {
        using var folder = new TemporaryFolder();
        var encoder = ShardedAutoencodingJobsTests.Encoder();
        using var components = ShardedAutoencodingJobsTests.Components(encoder);
        var job = new StatsJob(NullLogger<StatsJob>.Instance);
        StatsJobOptions Options(string output) => new() { BatchSize = 4, Output = $"{output}/stat", Per = "channel" };

        var encoded = TinyPipeline.Context(components, folder.Path, TinyPipeline.Data(), seed: 5);
        job.Run(encoded, Options("encoded"));
        encoder.Calls.Should().Be(8, "32 images in batches of 4");

        var cacheFolder = folder.Combine("cache");
        encoder.Calls = 0;
        var cached = TinyPipeline.Context(components, folder.Path, TinyPipeline.Data(cacheFolder), seed: 5);
        job.Run(cached, Options("cached"));
        encoder.Calls.Should().Be(16, "the cache encodes every image and its mirror image once");
        Directory.GetFiles(cacheFolder, "manifest.json", SearchOption.AllDirectories).Should().ContainSingle();

        var expected = SafeTensorsFile.Read(folder.Combine("encoded", "stat.safetensors"));
        var actual = SafeTensorsFile.Read(folder.Combine("cached", "stat.safetensors"));
        actual.Keys.Should().BeEquivalentTo(expected.Keys).And.Contain("mean").And.Contain("var");
        foreach (var key in expected.Keys)
            actual[key].to(torch.float64).sub(expected[key].to(torch.float64)).abs().max().item<double>().Should().BeLessThan(1e-6, key);
        cached.Results.Metrics["stats/images"].Should().Be(32);
        cached.Results.Metrics["stats/var_mean"].Should().BeApproximately(encoded.Results.Metrics["stats/var_mean"], 1e-6);

        // The next job reads the cache: one encoder call, the check of its first latent.
        encoder.Calls = 0;
        job.Run(TinyPipeline.Context(components, folder.Path, TinyPipeline.Data(cacheFolder), seed: 5), Options("again"));
        encoder.Calls.Should().Be(1);
    }

    [Fact]
    public void Stats_of_an_array_shard_encode_their_images_and_leave_the_cache_alone()
    {
        using var folder = new TemporaryFolder();
        var encoder = ShardedAutoencodingJobsTests.Encoder();
        using var components = ShardedAutoencodingJobsTests.Components(encoder);
        var cacheFolder = folder.Combine("cache");
        var context = TinyPipeline.Context(components, folder.Path, TinyPipeline.Data(cacheFolder), seed: 5);

        new StatsJob(NullLogger<StatsJob>.Instance).Run(context, new StatsJobOptions { BatchSize = 4, Output = "shard/stat", Shard = "0/2" });

        encoder.Calls.Should().Be(4, "shard 0/2 encodes its own 4 batches");
        Directory.Exists(cacheFolder).Should().BeFalse("shards running side by side would race to fill one cache");
    }

    [Fact]
    public void Reconstructions_of_the_data_carry_its_labels()
    {
        using var folder = new TemporaryFolder();
        using var components = ShardedAutoencodingJobsTests.Components(ShardedAutoencodingJobsTests.Encoder());
        var data = TinyPipeline.Data();
        var context = TinyPipeline.Context(components, folder.Path, data);

        new ReconstructJob().Run(context, new ReconstructJobOptions { Output = "recon/grid.png", Limit = 12, BatchSize = 5 });

        var dataset = Datasets.Open(data, folder.Path, context.Seed);
        var expected = Enumerable.Range(0, 12).Select(i => (long)dataset.Get(i).Label).ToArray();
        expected.Distinct().Should().HaveCountGreaterThan(1, "the first images span several classes");
        foreach (var file in new[] { "originals.npz", "reconstructions.npz" })
        {
            using var archive = NpzArchive.Open(folder.Combine("recon", file));
            using var images = archive.Read("arr_0");
            images.shape.Should().Equal(12, TinyPipeline.ImageSize, TinyPipeline.ImageSize, 3);
            using var labels = archive.Read("arr_1");
            labels.dtype.Should().Be(torch.int64, file);
            labels.data<long>().ToArray().Should().Equal(expected, file);
        }
    }
}
