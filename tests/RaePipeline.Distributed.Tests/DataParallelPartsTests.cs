using RaePipeline.Data;
using RaePipeline.Latents;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Distributed.Tests;

/// <summary>The single-process side of data-parallel training: batch slices, per-sample randomness, gradient buckets, merged statistics.</summary>
public class DataParallelPartsTests
{
    [Fact]
    public void Slices_of_a_global_batch_cover_it_in_order_with_run_wide_sample_numbers()
    {
        var slices = Enumerable.Range(0, 3).Select(r => BatchSlice.Of(8, r, 3)).ToList();
        slices.Select(s => (s.Start, s.End)).Should().Equal([(0, 2), (2, 5), (5, 8)]);
        slices.Sum(s => s.Weight).Should().BeApproximately(1, 1e-12);
        slices[1].FirstSample(10).Should().Be(82, "batch 10 holds samples 80..87; rank 1 starts at row 2");
        BatchSlice.Of(1, 0, 2).IsEmpty.Should().BeTrue("a batch smaller than the world leaves ranks idle (the first ones)");
    }

    [Fact]
    public void A_ranks_rows_of_a_shuffled_flipped_batch_are_those_rows_of_the_whole_batch()
    {
        var batches = new ShuffledBatches(20, (index, flip) =>
        {
            var sample = torch.arange(4, dtype: float32) + 10 * index;
            return new LabeledSample(flip ? sample.flip(0) : sample, index);
        }, batchSize: 6, seed: 3, randomFlip: true);
        using var whole = batches.Batch(4);
        using var part = batches.Batch(4, 2, 5);
        part.Samples.SameValues(whole.Samples[2..5]).Should().BeTrue();
        part.Labels.SameValues(whole.Labels[2..5]).Should().BeTrue();
        part.Index.Should().Be(4);
        using var none = batches.Batch(4, 6, 6);
        none.Samples.shape.Should().Equal([0, 4], "an empty slice keeps the samples' shape");
        using var clamped = batches.Batch(4, 4, 100);
        clamped.Samples.SameValues(whole.Samples[4..]).Should().BeTrue();
    }

    [Fact]
    public void Per_sample_draws_do_not_depend_on_how_the_samples_are_split()
    {
        using var scope = NewDisposeScope();
        var noise = new SampleRandomness(11, "noise");
        var whole = noise.Normal(40, 8, 3, 2);
        whole.shape.Should().Equal([8, 3, 2]);
        torch.cat([noise.Normal(40, 3, 3, 2), noise.Normal(43, 5, 3, 2)], 0).SameValues(whole).Should().BeTrue();
        var times = new SampleRandomness(11, "times").Uniform(40, 8);
        times.shape.Should().Equal([8]);
        torch.cat([new SampleRandomness(11, "times").Uniform(40, 1), new SampleRandomness(11, "times").Uniform(41, 7)]).SameValues(times).Should().BeTrue();
        new SampleRandomness(11, "other").Normal(40, 8, 3, 2).SameValues(whole).Should().BeFalse("another purpose is another stream");
        new SampleRandomness(12, "noise").Normal(40, 8, 3, 2).SameValues(whole).Should().BeFalse("another seed is another stream");
        whole[0].SameValues(whole[1]).Should().BeFalse("every sample has its own stream");
        noise.Normal(0, 0, 3).shape.Should().Equal([0, 3]);
    }

    [Fact]
    public void Gradient_buckets_in_one_process_keep_the_gradients_and_split_by_size_and_dtype()
    {
        using var scope = NewDisposeScope();
        var parameters = new[] { torch.ones(10), torch.ones(100), torch.ones(3), torch.ones(5, float64) }
            .Select(t => new TorchSharp.Modules.Parameter(t)).ToList();
        foreach (var p in parameters) p.grad = torch.full_like(p, 2);
        using var buckets = new GradientBuckets(ProcessGroup.Single, parameters, bucketBytes: 64);
        // 10 floats (40 B) | 100 floats alone (400 B > 64) | 3 floats | 5 doubles (another dtype)
        buckets.BucketCount.Should().Be(4);
        buckets.Bytes.Should().Be(4 * 113 + 8 * 5);
        buckets.Average(new BatchSlice(0, 8, 8));
        parameters.Should().AllSatisfy(p => p.grad!.eq(2).all().item<bool>().Should().BeTrue());
        buckets.Average(4, 8);
        parameters.Should().AllSatisfy(p => p.grad!.eq(1).all().item<bool>().Should().BeTrue("a share of half the batch halves the gradient"));
        ((Action)(() => buckets.Average(9, 8))).Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void Merged_statistics_accumulators_equal_one_accumulator_over_all_batches()
    {
        using var scope = NewDisposeScope();
        var latents = new SampleRandomness(5, "latents").Normal(0, 30, 3, 2, 2) * 4 - 7;
        using var one = new LatentStatisticsAccumulator();
        using var first = new LatentStatisticsAccumulator();
        using var second = new LatentStatisticsAccumulator();
        foreach (var start in new[] { 0, 7, 14, 21, 28 })
        {
            var batch = latents[start..Math.Min(30, start + 7)];
            one.Add(batch);
            (start < 14 ? first : second).Add(batch);
        }
        using var merged = new LatentStatisticsAccumulator();
        merged.Add(first);
        merged.Add(new LatentStatisticsAccumulator()); // an empty part changes nothing
        merged.Add(second);
        merged.Count.Should().Be(30);
        (merged.Mean - one.Mean).abs().max().item<double>().Should().BeLessThan(1e-12);
        (merged.Variance - one.Variance).abs().max().item<double>().Should().BeLessThan(1e-12);
        using var alone = one.AcrossRanks(ProcessGroup.Single);
        alone.Mean.SameValues(one.Mean).Should().BeTrue("one process merges only itself");
        var wrong = () => merged.Add(torch.zeros(2, 3, 4, 4));
        wrong.Should().Throw<ArgumentException>().WithMessage("*(B, 3, 4, 4)*(B, 3, 2, 2)*");
    }
}
