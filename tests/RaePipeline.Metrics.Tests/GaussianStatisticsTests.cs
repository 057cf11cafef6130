using RaePipeline.Metrics;
using RaePipeline.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Metrics.Tests;

public class GaussianStatisticsTests
{
    [Fact]
    public void Npz_round_trip_keeps_mu_and_sigma_exactly()
    {
        var path = Path.Combine(Path.GetTempPath(), $"stats-{Guid.NewGuid():N}.npz");
        try
        {
            using var features = randn(50, 8, generator: new Generator(3));
            using var original = GaussianStatistics.FromFeatures(features);
            original.Save(path);

            GaussianStatistics.IsStatisticsFile(path).Should().BeTrue();
            using var loaded = GaussianStatistics.Load(path);
            loaded.Mean.SameValues(original.Mean).Should().BeTrue();
            loaded.Covariance.SameValues(original.Covariance).Should().BeTrue();
            loaded.Mean.dtype.Should().Be(ScalarType.Float64);

            var arrays = NpzFile.Read(path);
            arrays.Keys.Should().BeEquivalentTo(["mu", "sigma"], "the ADM evaluator reads these names");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Covariance_is_unbiased_like_np_cov()
    {
        // Two features over three samples: x = (1, 2, 3), y = (2, 0, 4); means 2 and 2.
        using var features = tensor(new double[,] { { 1, 2 }, { 2, 0 }, { 3, 4 } });
        using var stats = GaussianStatistics.FromFeatures(features);
        stats.Mean.SameValues(tensor(new double[] { 2, 2 })).Should().BeTrue();
        // var x = (1 + 0 + 1) / 2 = 1; var y = (0 + 4 + 4) / 2 = 4; cov = ((-1)(0) + 0(-2) + 1(2)) / 2 = 1.
        stats.Covariance.SameValues(tensor(new double[,] { { 1, 1 }, { 1, 4 } })).Should().BeTrue();
    }

    [Fact]
    public void An_image_npz_is_refused_as_statistics_with_the_names_it_holds()
    {
        var path = Path.Combine(Path.GetTempPath(), $"images-{Guid.NewGuid():N}.npz");
        try
        {
            using var images = zeros([2, 4, 4, 3], dtype: ScalarType.Byte);
            NpzFile.Write(path, [new("arr_0", images)]);
            GaussianStatistics.IsStatisticsFile(path).Should().BeFalse();
            var act = () => GaussianStatistics.Load(path);
            act.Should().Throw<WeightsFormatException>().WithMessage("*'mu'*'sigma'*'arr_0'*");
        }
        finally
        {
            File.Delete(path);
        }
    }
}
