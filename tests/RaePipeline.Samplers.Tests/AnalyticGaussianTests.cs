using RaePipeline.Abstractions;
using RaePipeline.FlowMatching;
using RaePipeline.Samplers.FlowMatching;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace RaePipeline.Samplers.Tests;

/// <summary>
/// The samplers on Gaussian data, where the velocity field, the ODE flow and the SDE's discrete variance are known in
/// closed form (<see cref="GaussianData"/>). Sample statistics are checked against the exact marginal at the last
/// grid time within 5 standard errors of the sample size (B h w values per channel).
/// </summary>
public class AnalyticGaussianTests(ITestOutputHelper output)
{
    static readonly LatentShape Latent = new(4, 8, 8);
    static readonly GaussianData Data = new([-1.5, 0.5, 2.0, 0.0], [0.5, 1.0, 2.0, 0.25]);
    const int Batch = 256;
    // s = sqrt(4 * 8 * 8 / 64) = 2: the grid is shifted as for real latents.
    const double ShiftBase = 64;
    const double StandardErrors = 5;

    static Tensor Noise(long seed, int batch = Batch) =>
        randn(Latent.WithBatch(batch), dtype: ScalarType.Float64, generator: new Generator((ulong)seed));

    static Tensor Labels(Tensor noise) => zeros([noise.shape[0]], dtype: ScalarType.Int64);

    static FixedGridOdeSampler OdeSampler(string name, int points) => name switch
    {
        "euler" => new EulerSampler(new TimeGridSettings(points, shiftBase: ShiftBase)),
        "heun" => new HeunSampler(new TimeGridSettings(points, shiftBase: ShiftBase)),
        "midpoint" => new MidpointSampler(new TimeGridSettings(points, shiftBase: ShiftBase)),
        _ => throw new ArgumentException(name),
    };

    // Euler's variance error at 50 points is about 9% on the s = 0.5 channel (first order; see the convergence test),
    // beyond 5 standard errors, so it gets 1000 points here; the second-order methods need only the default 50.
    [Theory]
    [InlineData("euler", 1000)]
    [InlineData("heun", 50)]
    [InlineData("midpoint", 50)]
    public void Ode_samples_have_the_data_mean_and_variance(string name, int points)
    {
        using var scope = NewDisposeScope();
        var sampler = OdeSampler(name, points);
        var grid = sampler.TimeGrid(Latent);
        var tEnd = grid[-1].item<float>();
        var noise = Noise(1);
        var samples = sampler.Sample(Data.Velocity, noise, Labels(noise), grid);
        var stats = ChannelStatistics.Of(samples);
        for (var c = 0; c < Data.Channels; c++)
        {
            double mean = Data.MeanAt(c, tEnd), variance = Data.VarianceAt(c, tEnd);
            output.WriteLine($"{name} c{c}: mean {stats.Means[c]:F5} (exact {mean:F5}, SE {stats.MeanStandardError(variance):E2}), " +
                $"var {stats.Variances[c]:F5} (exact {variance:F5}, SE {stats.VarianceStandardError(variance):E2}); data m {Data.Means[c]}, s^2 {Data.Stds[c] * Data.Stds[c]}");
            stats.Means[c].Should().BeApproximately(mean, StandardErrors * stats.MeanStandardError(variance), $"{name} channel {c} mean");
            stats.Variances[c].Should().BeApproximately(variance, StandardErrors * stats.VarianceStandardError(variance), $"{name} channel {c} variance");
        }
    }

    /// <summary>Max abs difference between a sampler's output and the exact flow of the same noise, at the grid end.</summary>
    static double FlowError(FixedGridOdeSampler sampler, Tensor noise)
    {
        using var scope = NewDisposeScope();
        var grid = sampler.TimeGrid(Latent);
        var samples = sampler.Sample(Data.Velocity, noise, Labels(noise), grid);
        return (samples - Data.ExactFlow(noise, grid[-1].item<float>())).abs().max().item<double>();
    }

    [Fact]
    public void Euler_converges_with_order_one_and_heun_with_order_two()
    {
        using var scope = NewDisposeScope();
        var noise = Noise(2, batch: 8);
        // Grids of 11, 21, 41 points are nested (the step halves), so a method of order p divides its error by 2^p.
        int[] points = [11, 21, 41, 81];
        var euler = points.Select(n => FlowError(OdeSampler("euler", n), noise)).ToArray();
        var heun = points.Select(n => FlowError(OdeSampler("heun", n), noise)).ToArray();
        var midpoint = points.Select(n => FlowError(OdeSampler("midpoint", n), noise)).ToArray();
        output.WriteLine($"max abs error vs exact flow at {string.Join("/", points)} points: euler {string.Join(", ", euler.Select(e => e.ToString("E3")))}; " +
            $"heun {string.Join(", ", heun.Select(e => e.ToString("E3")))}; midpoint {string.Join(", ", midpoint.Select(e => e.ToString("E3")))}");
        for (var k = 0; k + 1 < points.Length; k++)
        {
            output.WriteLine($"halving the step: euler error ratio {euler[k] / euler[k + 1]:F3}, heun {heun[k] / heun[k + 1]:F3}, midpoint {midpoint[k] / midpoint[k + 1]:F3}");
            (euler[k] / euler[k + 1]).Should().BeInRange(1.7, 2.3, "Euler is first order");
            (heun[k] / heun[k + 1]).Should().BeInRange(3.4, 4.6, "Heun is second order");
            // On this field the midpoint method's second-order error terms nearly cancel: its ratio climbs toward 8
            // (6.1, 7.5, 7.9; a scalar recursion of the same rule in double gives 6.2, 7.5, 7.9).
            (midpoint[k] / midpoint[k + 1]).Should().BeGreaterThan(3.4, "the midpoint method is at least second order");
        }
        // Equal function evaluations: Heun on n points costs 2 (n - 1), as much as Euler on 2n - 1 points.
        for (var k = 0; k + 1 < points.Length; k++)
        {
            var ratio = euler[k + 1] / heun[k];
            output.WriteLine($"{2 * (points[k] - 1)} evaluations: euler {euler[k + 1]:E3} / heun {heun[k]:E3} = {ratio:F2}");
            ratio.Should().BeGreaterThan(3, "at equal evaluations Heun's error is several times smaller than Euler's");
        }
    }

    /// <summary>
    /// Euler-Maruyama with D(t) = t (diffusion_form sigma) on the same data. The state stays affine in the noise, so
    /// u = x - a m evolves exactly as u' = u (1 - h (lambda + D / var_t)) + sqrt(2 D h) w per step of size h, and its
    /// variance by V' = V (1 - h (lambda + D / var_t))^2 + 2 D h from V = 1; the Mean last step multiplies it by
    /// (1 - t_N (lambda + D / var_t))^2 and the mean ends at m. The empirical variance must match this recursion,
    /// and without a last step (grid down to t = 0) the recursion itself must be within 1% of s^2.
    /// </summary>
    [Theory]
    [InlineData("none")]
    [InlineData("Mean")]
    public void Euler_maruyama_samples_have_the_data_mean_and_the_predicted_variance(string lastStep)
    {
        using var scope = NewDisposeScope();
        var sampler = new EulerMaruyamaOptions { ShiftBase = ShiftBase, DiffusionForm = "sigma", LastStep = lastStep }.Create();
        var grid = sampler.TimeGrid(Latent);
        var t = grid.data<float>().ToArray();
        var noise = Noise(3);
        var samples = sampler.Sample(Data.Velocity, noise, Labels(noise), grid, new Generator(4));
        var stats = ChannelStatistics.Of(samples);
        for (var c = 0; c < Data.Channels; c++)
        {
            var variance = 1.0;
            for (var i = 0; i + 1 < t.Length; i++)
            {
                double h = t[i] - t[i + 1], d = t[i];
                var factor = 1 - h * (Data.Lambda(c, t[i]) + d / Data.VarianceAt(c, t[i]));
                variance = variance * factor * factor + 2 * d * h;
            }
            if (sampler.LastStep == LastStep.Mean)
            {
                double tEnd = t[^1];
                var factor = 1 - tEnd * (Data.Lambda(c, tEnd) + tEnd / Data.VarianceAt(c, tEnd));
                variance *= factor * factor;
            }
            var dataVariance = Data.Stds[c] * Data.Stds[c];
            output.WriteLine($"last step {lastStep} c{c}: mean {stats.Means[c]:F5} (data {Data.Means[c]}, SE {stats.MeanStandardError(variance):E2}), " +
                $"var {stats.Variances[c]:F5} (recursion {variance:F5}, SE {stats.VarianceStandardError(variance):E2}; data {dataVariance})");
            stats.Means[c].Should().BeApproximately(Data.Means[c], StandardErrors * stats.MeanStandardError(variance), $"channel {c} mean");
            stats.Variances[c].Should().BeApproximately(variance, StandardErrors * stats.VarianceStandardError(variance), $"channel {c} variance");
            if (sampler.LastStep == LastStep.None)
                variance.Should().BeApproximately(dataVariance, 0.01 * dataVariance, $"channel {c}: 250 steps reach the data variance");
        }
    }
}
