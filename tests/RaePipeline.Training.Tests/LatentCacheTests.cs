using RaePipeline.Data;
using RaePipeline.Pipeline;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Training.Tests;

public class LatentCacheTests
{
    static SyntheticClassImages Data() => new(numClasses: 3, imagesPerClass: 5, imageSize: 16, seed: 2);

    [Fact]
    public void Cache_holds_both_flips_and_is_reused_only_by_the_same_encoder_state()
    {
        using var folder = new TemporaryFolder();
        var data = Data();
        using var encoder = new PatchMeanEncoder(16, 4, 6, seed: 1);
        string firstFolder;
        using (var cache = LatentCache.Open(folder.Path, data, encoder, "patch", torch.CPU, batchSize: 4, shardSize: 6))
        {
            firstFolder = cache.Folder;
            cache.Count.Should().Be(15);
            Directory.GetFiles(cache.Folder, "shard-*.safetensors").Should().HaveCount(3);
            foreach (int index in new[] { 0, 7, 14 })
            {
                using var scope = NewDisposeScope();
                var image = data.Get(index).Image.unsqueeze(0);
                var plain = cache.Read(index, flipped: false);
                var mirrored = cache.Read(index, flipped: true);
                plain.Label.Should().Be(data.Get(index).Label);
                TensorAssert.Close(plain.Sample, encoder.Encode(image)[0], 1e-6, 1e-6, $"latent {index}");
                TensorAssert.Close(mirrored.Sample, encoder.Encode(image.flip(-1))[0], 1e-6, 1e-6, $"mirrored latent {index}");
            }
        }

        int calls = encoder.Calls;
        using (var again = LatentCache.Open(folder.Path, data, encoder, "patch", torch.CPU, batchSize: 4, shardSize: 6))
        {
            again.Folder.Should().Be(firstFolder);
            (encoder.Calls - calls).Should().Be(1, "an existing cache is checked with one encoding of its first image");
        }

        using (var renamed = LatentCache.Open(folder.Path, data, encoder, "other-encoder", torch.CPU, batchSize: 4, shardSize: 6))
            renamed.Folder.Should().NotBe(firstFolder, "another encoder name gets its own cache");

        encoder.Perturb(); // same name, different weights: the stored latents are stale
        calls = encoder.Calls;
        using (var rebuilt = LatentCache.Open(folder.Path, data, encoder, "patch", torch.CPU, batchSize: 4, shardSize: 6))
        {
            rebuilt.Folder.Should().Be(firstFolder);
            (encoder.Calls - calls).Should().BeGreaterThan(1, "the stale cache is encoded again");
            using var scope = NewDisposeScope();
            TensorAssert.Close(rebuilt.Read(3, false).Sample, encoder.Encode(data.Get(3).Image.unsqueeze(0))[0], 1e-6, 1e-6);
        }
    }

    [Fact]
    public void Batches_follow_the_seeded_order()
    {
        using var folder = new TemporaryFolder();
        var data = Data();
        using var encoder = new PatchMeanEncoder(16, 4, 6, seed: 1);
        using var cache = LatentCache.Open(folder.Path, data, encoder, "patch", torch.CPU);
        var batches = cache.Batches(batchSize: 4, seed: 9, randomFlip: false, BatchPrefetch.For(new DataOptions { Prefetch = 2 }));
        var order = batches.EpochOrder(0);
        using var batch = batches.Batch(1);
        batch.Samples.shape.Should().Equal(4, 6, 4, 4);
        for (int i = 0; i < 4; i++)
        {
            using var scope = NewDisposeScope();
            batch.Samples[i].SameValues(cache.Read((int)order[4 + i], false).Sample).Should().BeTrue();
        }
    }
}
