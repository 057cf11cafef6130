using RaePipeline.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Training.Tests;

public class ShuffledBatchesTests
{
    [Fact]
    public void Order_repeats_for_a_seed_and_each_epoch_is_a_permutation()
    {
        var data = new SyntheticClassImages(3, 7, 8, seed: 0); // 21 images
        var a = ShuffledBatches.OfImages(data, 4, seed: 5);
        var b = ShuffledBatches.OfImages(data, 4, seed: 5);
        var c = ShuffledBatches.OfImages(data, 4, seed: 6);
        a.BatchesPerEpoch.Should().Be(5);
        for (int epoch = 0; epoch < 3; epoch++)
        {
            a.EpochOrder(epoch).Should().Equal(b.EpochOrder(epoch));
            a.EpochOrder(epoch).Order().Should().Equal(Enumerable.Range(0, 21).Select(i => (long)i));
        }
        a.EpochOrder(0).Should().NotEqual(a.EpochOrder(1));
        a.EpochOrder(0).Should().NotEqual(c.EpochOrder(0));
    }

    [Fact]
    public void Batches_hold_the_planned_images_and_drop_the_last_partial_batch()
    {
        var data = new SyntheticClassImages(3, 7, 8, seed: 0);
        var batches = ShuffledBatches.OfImages(data, 4, seed: 5, randomFlip: true);
        var order = batches.EpochOrder(1);
        int flipped = 0;
        foreach (var batch in batches.Batches(start: 5, count: 5)) // epoch 1
        {
            batch.Epoch.Should().Be(1);
            batch.Samples.shape.Should().Equal(4, 3, 8, 8);
            batch.Labels.dtype.Should().Be(ScalarType.Int64);
            for (int i = 0; i < 4; i++)
            {
                using var scope = NewDisposeScope();
                var item = data.Get((int)order[(batch.Index - 5) * 4 + i]);
                batch.Labels[i].item<long>().Should().Be(item.Label);
                bool same = batch.Samples[i].SameValues(item.Image), mirrored = batch.Samples[i].SameValues(item.Image.flip(-1));
                (same || mirrored).Should().BeTrue();
                if (!same) flipped++;
            }
        }
        flipped.Should().BeInRange(2, 18, "about half of 20 images are flipped");

        using var again = batches.Batch(7);
        using var fresh = ShuffledBatches.OfImages(data, 4, seed: 5, randomFlip: true).Batch(7);
        again.Samples.SameValues(fresh.Samples).Should().BeTrue("batch i is a function of the seed and i");
    }
}
