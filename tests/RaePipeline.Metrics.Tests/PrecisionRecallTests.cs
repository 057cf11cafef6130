using RaePipeline.Metrics;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace RaePipeline.Metrics.Tests;

public class PrecisionRecallTests(ITestOutputHelper output)
{
    [Fact]
    public void Samples_of_the_same_distribution_are_inside_and_of_a_disjoint_one_outside()
    {
        var generator = new Generator(11);
        using var reference = randn(600, 4, generator: generator);
        using var same = randn(600, 4, generator: generator);
        using var far = randn(600, 4, generator: generator) + 50;
        var estimator = new PrecisionRecall { BlockSize = 256 };

        var matched = estimator.Compute(reference, same);
        var disjoint = estimator.Compute(reference, far);
        output.WriteLine($"same distribution: {matched}; disjoint: {disjoint}");

        matched.Precision.Should().BeGreaterThan(0.9);
        matched.Recall.Should().BeGreaterThan(0.9);
        disjoint.Precision.Should().Be(0);
        disjoint.Recall.Should().Be(0);
    }

    [Fact]
    public void Blockwise_result_equals_a_brute_force_count()
    {
        var generator = new Generator(5);
        using var reference = randn(37, 3, generator: generator);
        using var samples = randn(29, 3, generator: generator) * 1.5 + 0.3;
        var r = reference.to(float64).data<double>().ToArray();
        var s = samples.to(float64).data<double>().ToArray();

        var rRadii = BruteRadii(r, 3, 3);
        var sRadii = BruteRadii(s, 3, 3);
        double precision = BruteFraction(s, r, rRadii, 3);
        double recall = BruteFraction(r, s, sRadii, 3);

        // Blocks of 8 rows/columns exercise the running k-nearest merge and the partial last block.
        var result = new PrecisionRecall { BlockSize = 8 }.Compute(reference, samples);
        output.WriteLine($"blockwise {result}, brute force precision {precision}, recall {recall}");
        result.Precision.Should().Be(precision);
        result.Recall.Should().Be(recall);
        precision.Should().BeInRange(0.05, 0.95, "the sets must partly overlap for the test to mean something");
    }

    static double[] BruteRadii(double[] x, int d, int k)
    {
        int n = x.Length / d;
        return Enumerable.Range(0, n)
            .Select(i => Enumerable.Range(0, n).Select(j => SquaredDistance(x, i, x, j, d)).Order().ElementAt(k))
            .ToArray();
    }

    static double BruteFraction(double[] points, double[] centres, double[] radii, int d)
    {
        int n = points.Length / d, m = centres.Length / d;
        int inside = Enumerable.Range(0, n).Count(i => Enumerable.Range(0, m).Any(j => SquaredDistance(points, i, centres, j, d) <= radii[j]));
        return (double)inside / n;
    }

    static double SquaredDistance(double[] a, int i, double[] b, int j, int d) =>
        Enumerable.Range(0, d).Sum(c => Math.Pow(a[i * d + c] - b[j * d + c], 2));
}
