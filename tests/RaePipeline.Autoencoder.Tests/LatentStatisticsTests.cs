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
        foreach (var batch in batches) accumulator.Add(batch);

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
}
