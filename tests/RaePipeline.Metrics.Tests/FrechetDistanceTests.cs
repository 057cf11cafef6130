using RaePipeline.Metrics;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Metrics.Tests;

public class FrechetDistanceTests
{
    [Fact]
    public void Diagonal_gaussians_give_the_elementwise_closed_form()
    {
        double[] muA = [0.5, -1.0, 2.0, 0.0], muB = [0.0, 1.0, 2.5, -3.0];
        double[] varA = [1.0, 4.0, 0.25, 9.0], varB = [2.0, 1.0, 0.25, 0.5];
        double expected = 0;
        for (int i = 0; i < muA.Length; i++)
            expected += Math.Pow(muA[i] - muB[i], 2) + varA[i] + varB[i] - 2 * Math.Sqrt(varA[i] * varB[i]);

        using var a = new GaussianStatistics(tensor(muA), diag(tensor(varA)));
        using var b = new GaussianStatistics(tensor(muB), diag(tensor(varB)));
        var result = FrechetDistance.Compute(a, b);

        result.Distance.Should().BeApproximately(expected, 1e-12 * expected);
        result.UsedEpsOffset.Should().BeFalse();
    }

    [Fact]
    public void Covariances_sharing_eigenvectors_give_the_closed_form_in_their_eigenbasis()
    {
        // S_a = R diag(a) Rᵀ, S_b = R diag(b) Rᵀ with a random rotation R: tr sqrt(S_a S_b) = Σ sqrt(a_i b_i).
        var generator = new Generator(7);
        int d = 6;
        var (q, _) = linalg.qr(randn(d, d, dtype: float64, generator: generator));
        double[] eigA = [3.0, 1.5, 0.7, 0.2, 0.05, 2.2], eigB = [0.4, 2.5, 1.1, 0.9, 0.3, 0.01];
        using var sa = q.matmul(diag(tensor(eigA))).matmul(q.t());
        using var sb = q.matmul(diag(tensor(eigB))).matmul(q.t());
        using var mu = zeros(d, dtype: float64);
        double expected = eigA.Zip(eigB, (x, y) => x + y - 2 * Math.Sqrt(x * y)).Sum();

        using var a = new GaussianStatistics(mu, sa);
        using var b = new GaussianStatistics(mu, sb);

        FrechetDistance.Compute(a, b).Distance.Should().BeApproximately(expected, 1e-10);
        FrechetDistance.Compute(a, a).Distance.Should().BeApproximately(0, 1e-10);
    }

    [Fact]
    public void Mismatched_dimensions_are_refused_with_both_sizes()
    {
        using var a = new GaussianStatistics(zeros(3, dtype: float64), eye(3, dtype: float64));
        using var b = new GaussianStatistics(zeros(4, dtype: float64), eye(4, dtype: float64));
        var act = () => FrechetDistance.Compute(a, b);
        act.Should().Throw<ArgumentException>().WithMessage("*3 and 4*");
    }
}
