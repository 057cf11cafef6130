using RaePipeline.Data;
using RaePipeline.Imaging;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Training.Tests;

public class BatchPrefetchTests
{
    static readonly BatchPrefetch Ahead = new(Depth: 3, Workers: 3);

    [Fact]
    public void Prefetched_batches_equal_the_batches_loaded_in_turn()
    {
        var data = new SyntheticClassImages(3, 7, 8, seed: 0); // 21 images, 5 batches of 4 per epoch
        using var inTurn = ShuffledBatches.OfImages(data, 4, seed: 5, randomFlip: true, prefetch: BatchPrefetch.Off);
        using var ahead = ShuffledBatches.OfImages(data, 4, seed: 5, randomFlip: true, prefetch: Ahead);
        // In order across three epochs, then jumps back and forth (a resumed run, a sample grid's batch 0).
        long[] indices = [.. Enumerable.Range(0, 15).Select(i => (long)i), 3, 20, 2, 2, 9];
        foreach (var index in indices)
        {
            using var expected = inTurn.Batch(index);
            using var actual = ahead.Batch(index);
            (actual.Index, actual.Epoch).Should().Be((expected.Index, expected.Epoch));
            actual.Labels.SameValues(expected.Labels).Should().BeTrue($"labels of batch {index}");
            actual.Samples.SameValues(expected.Samples).Should().BeTrue($"images of batch {index}");
        }
        // A rank's rows of each global batch.
        for (long index = 0; index < 7; index++)
        {
            using var expected = inTurn.Batch(index, 1, 3);
            using var actual = ahead.Batch(index, 1, 3);
            actual.Samples.shape.Should().Equal(2, 3, 8, 8);
            actual.Samples.SameValues(expected.Samples).Should().BeTrue($"rows 1-2 of batch {index}");
            actual.Labels.SameValues(expected.Labels).Should().BeTrue($"labels of rows 1-2 of batch {index}");
        }
    }

    [Fact]
    public void Prefetched_batches_belong_to_the_callers_dispose_scope()
    {
        var data = new SyntheticClassImages(2, 4, 8, seed: 0);
        using var batches = ShuffledBatches.OfImages(data, 2, seed: 1, prefetch: Ahead);
        batches.Batch(0).Dispose(); // queues batches 1-3 on background threads
        Thread.Sleep(50);
        LabeledBatch batch;
        using (var scope = NewDisposeScope()) batch = batches.Batch(1);
        batch.Samples.IsInvalid.Should().BeTrue("the scope the batch was taken in disposed it, as without prefetch");
    }

    [Fact]
    public void A_worker_failure_surfaces_at_its_batch_with_the_file_name()
    {
        using var folder = new TemporaryFolder();
        Directory.CreateDirectory(folder.Combine("cat"));
        for (int i = 0; i < 7; i++)
            using (var image = torch.rand(3, 8, 8)) ImageFile.WritePng(folder.Combine("cat", $"{i}.png"), image);
        var broken = folder.Combine("cat", "z-broken.png");
        File.WriteAllBytes(broken, [0x89, (byte)'P', (byte)'N', (byte)'G', 1, 2, 3]);
        var data = new ImageFolderDataset(folder.Path, imageSize: 8); // the broken file sorts last: batch 3's second image
        using var batches = ShuffledBatches.OfImages(data, 2, seed: 0, shuffle: false, prefetch: new BatchPrefetch(2, 2));
        for (long index = 0; index < 3; index++)
            batches.Batch(index).Dispose(); // batch 3 was queued in the background by the first of these
        var take = () => batches.Batch(3);
        take.Should().Throw<DatasetException>().WithMessage($"*{broken}*").Which.Path.Should().Be(broken);
        using var again = batches.Batch(2);
        again.Size.Should().Be(2, "a failed batch does not stop the others");
    }

    [Fact]
    public void A_disposed_batcher_loads_nothing_more()
    {
        int loads = 0;
        var batches = new ShuffledBatches(40, (index, flip) =>
        {
            Interlocked.Increment(ref loads);
            Thread.Sleep(5);
            return new LabeledSample(torch.full(2, (float)index), index % 3);
        }, 4, seed: 2, prefetch: Ahead);
        batches.Batch(0).Dispose();
        batches.Dispose();
        int afterDispose = loads;
        afterDispose.Should().BeLessThanOrEqualTo(4 * 4, "batch 0 and at most three batches ahead");
        Thread.Sleep(100);
        loads.Should().Be(afterDispose, "dispose waits for the loads under way and cancels the queued ones");
        var take = () => batches.Batch(1);
        take.Should().Throw<ObjectDisposedException>();
    }
}
