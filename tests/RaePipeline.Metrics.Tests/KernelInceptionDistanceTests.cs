using static TorchSharp.torch;

namespace RaePipeline.Metrics.Tests;

/// <summary>
/// KID against its population value on Gaussian features. For independent x ~ N(a, A), y ~ N(b, B) in R^d and
/// s = x·y / d, E k(x, y) = E(s + 1)^3 = E s^3 + 3 E s^2 + 3 E s + 1 with
/// E[x·y] = a·b, E[(x·y)^2] = tr((B + b b^T)(A + a a^T)) (E[x^T M x] = tr(M (A + a a^T))), and, as x·y given y is
/// N(a·y, y^T A y) and E z^3 = mu^3 + 3 mu sigma^2 for z ~ N(mu, sigma^2),
/// E[(x·y)^3] = (a·b)^3 + 3 (a·b)(a^T B a + b^T A b + tr(A B)) + 6 a^T B A b.
/// The population MMD^2 is E k(x, x') + E k(y, y') - 2 E k(x, y) (independent copies).
/// </summary>
public class KernelInceptionDistanceTests
{
    const int D = 6;

    static double ExpectedKernel(Tensor a, Tensor covA, Tensor b, Tensor covB)
    {
        using var scope = NewDisposeScope();
        double ab = a.dot(b).item<double>();
        double second = (covB + outer(b, b)).matmul(covA + outer(a, a)).trace().item<double>();
        double third = Math.Pow(ab, 3)
            + 3 * ab * (a.matmul(covB).dot(a).item<double>() + b.matmul(covA).dot(b).item<double>() + covA.matmul(covB).trace().item<double>())
            + 6 * a.matmul(covB).matmul(covA).dot(b).item<double>();
        return third / Math.Pow(D, 3) + 3 * second / (D * D) + 3 * ab / D + 1;
    }

    static (Tensor Mean, Tensor Covariance, Tensor Root) Gaussian(double shift, double scale, int seed)
    {
        var g = new Generator((ulong)seed);
        var root = eye(D, dtype: float64) * scale + 0.2 * randn(D, D, dtype: float64, generator: g);
        return (full(D, shift, dtype: float64) + 0.1 * randn(D, dtype: float64, generator: g), root.matmul(root.t()), root);
    }

    static Tensor Draw((Tensor Mean, Tensor Covariance, Tensor Root) gaussian, int n, Generator g) =>
        randn(n, D, dtype: float64, generator: g).matmul(gaussian.Root.t()) + gaussian.Mean;

    [Fact]
    public void Unbiased_mmd2_matches_the_closed_form_for_gaussians_within_sampling_error()
    {
        using var scope = NewDisposeScope();
        var p = Gaussian(0.0, 1.0, 1);
        var q = Gaussian(0.3, 1.3, 2);
        var population = ExpectedKernel(p.Mean, p.Covariance, p.Mean, p.Covariance)
                         + ExpectedKernel(q.Mean, q.Covariance, q.Mean, q.Covariance)
                         - 2 * ExpectedKernel(p.Mean, p.Covariance, q.Mean, q.Covariance);
        var g = new Generator(3);
        const int repeats = 30, m = 300;
        var estimates = Enumerable.Range(0, repeats).Select(_ => KernelInceptionDistance.UnbiasedMmd2(Draw(p, m, g), Draw(q, m, g))).ToArray();
        var mean = estimates.Average();
        var standardError = Math.Sqrt(estimates.Sum(e => (e - mean) * (e - mean)) / (repeats - 1) / repeats);
        population.Should().BeGreaterThan(10 * standardError, "the two Gaussians differ clearly");
        mean.Should().BeApproximately(population, 4 * standardError, $"population MMD^2 {population:E4}, mean estimate {mean:E4}");

        // The same distribution on both sides: the unbiased estimate centres on 0.
        var same = Enumerable.Range(0, repeats).Select(_ => KernelInceptionDistance.UnbiasedMmd2(Draw(p, m, g), Draw(p, m, g))).ToArray();
        var sameMean = same.Average();
        var sameError = Math.Sqrt(same.Sum(e => (e - sameMean) * (e - sameMean)) / (repeats - 1) / repeats);
        sameMean.Should().BeApproximately(0, 4 * sameError);
    }

    [Fact]
    public void Subsets_are_seeded_capped_at_the_smaller_set_and_one_full_subset_is_the_plain_estimate()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(4);
        var x = Draw(Gaussian(0, 1, 5), 300, g);
        var y = Draw(Gaussian(0.5, 1, 6), 200, g);
        var kid = KernelInceptionDistance.Compute(x, y, subsets: 10, seed: 7);
        kid.SubsetSize.Should().Be(200, "the default 1000 is capped at the smaller set");
        KernelInceptionDistance.Compute(x, y, subsets: 10, seed: 7).Should().Be(kid, "seeded");
        KernelInceptionDistance.Compute(x, y, subsets: 10, seed: 8).Mean.Should().NotBe(kid.Mean);
        kid.Std.Should().BeGreaterThan(0);
        var full = KernelInceptionDistance.Compute(x[..200], y, subsets: 1, subsetSize: 200, seed: 9);
        full.Mean.Should().BeApproximately(KernelInceptionDistance.UnbiasedMmd2(x[..200], y), 1e-12, "a subset of every row is a permutation");
        full.Std.Should().Be(0);
    }
}
