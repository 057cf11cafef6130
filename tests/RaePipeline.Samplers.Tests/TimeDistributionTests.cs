using RaePipeline.FlowMatching;
using static TorchSharp.torch;

namespace RaePipeline.Samplers.Tests;

/// <summary>Training-time draws: the truncated logit-normal inverse CDF, the parsing of time_dist_type, and the loss's draw order.</summary>
public class TimeDistributionTests
{
    [Theory]
    [InlineData(0.0, 1.0)]
    [InlineData(-0.5, 1.5)]
    public void Logit_normal_maps_each_uniform_draw_to_its_quantile(double mu, double sigma)
    {
        using var scope = NewDisposeScope();
        var u = linspace(0.0, 0.99, 100, dtype: ScalarType.Float32);
        var t = TimeDistribution.LogitNormal(mu, sigma).FromUniform(u).to(float64);
        // The truncated law on [0, 0.999] has CDF F(t) = Phi((logit t - mu) / sigma) / Phi((logit 0.999 - mu) / sigma):
        // evaluated in float64 at the returned times it must give back u (up to float32 rounding of t).
        Tensor Phi(Tensor z) => 0.5 * (1.0 + special.erf(z / Math.Sqrt(2)));
        var upper = Phi(tensor((Math.Log(0.999 / 0.001) - mu) / sigma, float64));
        var cdf = Phi((special.logit(t) - mu) / sigma) / upper;
        TensorAssert.Close(cdf, u.to(float64), 2e-5, 2e-5, "F(t(u))");
        t.min().item<double>().Should().BeGreaterThanOrEqualTo(0);
        t.max().item<double>().Should().BeLessThanOrEqualTo(0.999 + 1e-7);
    }

    [Fact]
    public void Time_dist_type_strings_parse_as_the_official_ones()
    {
        TimeDistribution.Parse("uniform").Should().BeSameAs(TimeDistribution.Uniform);
        var logitNormal = TimeDistribution.Parse("logit-normal_0_1");
        (logitNormal.Mu, logitNormal.Sigma).Should().Be((0.0, 1.0));
        var bad = () => TimeDistribution.Parse("logit-normal_0");
        bad.Should().Throw<FormatException>().WithMessage("*logit-normal_<mu>_<sigma>*");
    }

    [Fact]
    public void Loss_draws_the_noise_before_the_times()
    {
        using var scope = NewDisposeScope();
        var z = randn(3, 2, 2, 2);
        var y = zeros([3], dtype: ScalarType.Int64);
        var shift = new TimeShift(2.0);
        var loss = new FlowMatchingLoss(TimeDistribution.Uniform, shift);
        Tensor Zero(Tensor x, Tensor t, Tensor labels) => zeros_like(x);
        using var terms = loss.Compute(Zero, z, y, new Generator(5));

        var generator = new Generator(5);
        var eps = randn(z.shape, generator: generator);
        var t = shift.Apply(rand([3], generator: generator) * 0.999);
        terms.Times.SameValues(t).Should().BeTrue("t = shift(0.999 u), u drawn after the noise");
        terms.Target.SameValues(eps - z).Should().BeTrue("target eps - z");
        TensorAssert.Close(terms.PerSampleLoss, (eps - z).square().mean([1, 2, 3]), 1e-6, 1e-6, "per-sample loss of a zero prediction");
    }
}
