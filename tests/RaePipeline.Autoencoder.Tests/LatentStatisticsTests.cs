using RaePipeline.Latents;
using static TorchSharp.torch;

namespace RaePipeline.Autoencoder.Tests;

public class LatentStatisticsTests
{
    [ParityTheory("decoder"), Trait("Category", "Parity")]
    [InlineData("stat.pt", false)]
    [InlineData("stat.safetensors", false)]
    [InlineData("stat_with_mean.pt", true)]
    [InlineData("stat_with_mean.safetensors", true)]
    public void Normalize_and_denormalize_match_the_reference(string file, bool hasMean)
    {
        using var c = ParityKit.Open("decoder");
        c.GetArray<string>("stats_case/files").Should().Contain(file);
        var stats = c.ReadSafeTensors("stats_case.safetensors");
        using var statistics = LatentStatistics.Load(c.Path(file), c.Get<double>("stats_case/eps"));
        (statistics.Mean is not null).Should().Be(hasMean);
        var name = Path.GetFileNameWithoutExtension(file);

        using var normalized = statistics.Normalize(stats["latents_raw"]);
        TensorAssert.Close(normalized, stats[$"{name}/latents_normalized"], what: $"{file}: normalized");
        using var denormalized = statistics.Denormalize(stats["latents_normalized_input"]);
        TensorAssert.Close(denormalized, stats[$"{name}/latents_denormalized"], what: $"{file}: denormalized");
    }

    [ParityFact("decoder")]
    public void Pt_and_safetensors_twins_hold_the_same_tensors()
    {
        using var c = ParityKit.Open("decoder");
        foreach (var stem in new[] { "stat", "stat_with_mean" })
        {
            using var pt = LatentStatistics.Load(c.Path(stem + ".pt"));
            using var st = LatentStatistics.Load(c.Path(stem + ".safetensors"));
            pt.Variance.SameValues(st.Variance).Should().BeTrue(stem);
            (pt.Mean is null).Should().Be(st.Mean is null, stem);
            if (pt.Mean is not null) pt.Mean.SameValues(st.Mean!).Should().BeTrue(stem);
        }
    }

    [Theory]
    [InlineData(".pt", true)]
    [InlineData(".pt", false)]
    [InlineData(".safetensors", true)]
    [InlineData(".safetensors", false)]
    public void Save_then_load_round_trips(string extension, bool withMean)
    {
        var folder = Directory.CreateTempSubdirectory("rae-stats-");
        try
        {
            using var generator = new Generator(7);
            var variance = rand([3, 2, 2], generator: generator);
            var mean = withMean ? randn([3, 2, 2], generator: generator) : null;
            using var original = new LatentStatistics(mean, variance);
            var path = Path.Combine(folder.FullName, "stat" + extension);
            original.Save(path);
            using var loaded = LatentStatistics.Load(path);
            loaded.Variance.SameValues(variance).Should().BeTrue();
            (loaded.Mean is null).Should().Be(!withMean);
            if (withMean) loaded.Mean!.SameValues(mean!).Should().BeTrue();
            if (extension == ".safetensors" && !withMean)
                RaePipeline.Weights.SafeTensorsFile.ReadHeader(path).Metadata["mean"].Should().Be("None");
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public void A_file_with_other_entries_is_refused_naming_file_and_entries()
    {
        var folder = Directory.CreateTempSubdirectory("rae-stats-");
        try
        {
            var path = Path.Combine(folder.FullName, "not_stats.safetensors");
            RaePipeline.Weights.SafeTensorsFile.Write(path, [new("weight", zeros(2, 2))]);
            var act = () => LatentStatistics.Load(path);
            act.Should().Throw<RaePipeline.Weights.WeightsFormatException>()
                .Where(e => e.Message.Contains(path) && e.Message.Contains("weight") && e.Message.Contains("'var'"));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public void Streaming_statistics_over_uneven_batches_equal_the_statistics_of_the_concatenation()
    {
        using var generator = new Generator(1234);
        int[] batchSizes = [5, 1, 8, 3, 12];
        var batches = batchSizes
            .Select((b, i) => (randn([b, 4, 3, 3], generator: generator) * (1 + i) + i * 0.5).to(float32))
            .ToList();
        using var accumulator = new LatentStatisticsAccumulator();
        foreach (var batch in batches)
        {
            // Callers add inside their own per-batch dispose scope; the running state must survive it.
            using var scope = NewDisposeScope();
            accumulator.Add(batch);
        }

        using var all = cat(batches, 0).to(float64);
        using var expectedMean = all.mean([0]);
        using var expectedVar = (all - expectedMean).square().mean([0]);   // population variance
        accumulator.Count.Should().Be(batchSizes.Sum());
        TensorAssert.Close(accumulator.Mean, expectedMean, 1e-10, 1e-10, "mean");
        using var variance = accumulator.Variance;
        TensorAssert.Close(variance, expectedVar, 1e-10, 1e-10, "var");

        using var statistics = accumulator.ToStatistics(includeMean: false);
        statistics.Mean.Should().BeNull();
        statistics.Variance.dtype.Should().Be(float32);
        foreach (var batch in batches) batch.Dispose();
    }

    [Fact]
    public void Per_channel_statistics_pool_every_position_of_a_channel_and_keep_the_element_shape()
    {
        using var generator = new Generator(11);
        // (B, C, h, w) = (13, 3, 4, 5): channels of different scales; one position of channel 1 is silent in every
        // image (a ReLU unit of a CNN that never fires there), so its per-element variance is 0.
        using var scales = tensor(new double[] { 0.5, 2.0, 7.0 }).reshape(1, 3, 1, 1);
        using var latents = (randn([13, 3, 4, 5], float64, generator: generator) * scales + 1.5).contiguous();
        latents[.., 1, 2, 3] = zeros(13, float64);
        using var accumulator = new LatentStatisticsAccumulator();
        accumulator.Add(latents[..6].to(float32));
        accumulator.Add(latents[6..].to(float32));

        using var statistics = accumulator.ToStatistics(perChannel: true, eps: 1e-5);
        using var pooled = latents.to(float32).to(float64).permute(1, 0, 2, 3).reshape(3, -1);
        using var expectedMean = pooled.mean([1]);
        using var expectedVar = (pooled - expectedMean.unsqueeze(1)).square().mean([1]);   // population variance
        statistics.Shape.Should().Be(new RaePipeline.Abstractions.LatentShape(3, 4, 5));
        for (int c = 0; c < 3; c++)
        {
            using var channelMean = statistics.Mean![c].to(float64);
            using var channelVar = statistics.Variance[c].to(float64);
            (channelMean.max() - channelMean.min()).item<double>().Should().Be(0, $"channel {c}: one mean for all positions");
            (channelVar.max() - channelVar.min()).item<double>().Should().Be(0, $"channel {c}: one variance for all positions");
            channelMean[0, 0].item<double>().Should().BeApproximately(expectedMean[c].item<double>(), 1e-5, $"channel {c} mean");
            channelVar[0, 0].item<double>().Should().BeApproximately(expectedVar[c].item<double>(), 1e-4 * expectedVar[c].item<double>(), $"channel {c} var");
        }
        // A new latent that fires at the silent position (a mirror image, a sample): hundreds of standard deviations
        // per element, about one per channel.
        using var perElement = accumulator.ToStatistics(eps: 1e-5);
        using var one = latents[4..5].to(float32).clone();
        one[0, 1, 2, 3] = tensor(2.0f);
        using var byElement = perElement.Normalize(one);
        using var byChannel = statistics.Normalize(one);
        byElement[0, 1, 2, 3].item<float>().Should().BeApproximately((float)(2.0 / Math.Sqrt(1e-5)), 1f);
        Math.Abs(byChannel[0, 1, 2, 3].item<float>()).Should().BeLessThan(2);
        using var roundTrip = statistics.Denormalize(byChannel);
        TensorAssert.Close(roundTrip, one, 1e-5, 1e-5, "denormalize(normalize(z))");
    }
}
