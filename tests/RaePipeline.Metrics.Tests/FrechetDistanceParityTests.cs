using RaePipeline.Metrics;
using Xunit.Abstractions;

namespace RaePipeline.Metrics.Tests;

/// <summary>The kit's <c>fid/</c> case: statistics and Fréchet distance of the ADM evaluator (float64, relative 1e-6).</summary>
[Trait("Category", "Parity")]
public class FrechetDistanceParityTests(ITestOutputHelper output)
{
    const double Relative = 1e-6;

    public static TheoryData<string> SubCases()
    {
        var data = new TheoryData<string>();
        if (!ParityKit.Has("fid")) return data;
        using var c = ParityKit.Open("fid");
        foreach (var name in c.Names.Where(n => n.EndsWith("/fid", StringComparison.Ordinal)))
            data.Add(name[..^"/fid".Length]);
        return data;
    }

    [ParityTheory("fid")]
    [MemberData(nameof(SubCases))]
    public void Statistics_and_distance_match_the_reference(string tag)
    {
        using var c = ParityKit.Open("fid");
        double eps = c.Get<double>("eps");
        using var a = GaussianStatistics.FromFeatures(c[$"{tag}/features_a"]);
        using var b = GaussianStatistics.FromFeatures(c[$"{tag}/features_b"]);
        TensorAssert.Close(a.Mean, c[$"{tag}/mu_a"], double.MaxValue, Relative, $"{tag}/mu_a");
        TensorAssert.Close(b.Mean, c[$"{tag}/mu_b"], double.MaxValue, Relative, $"{tag}/mu_b");
        TensorAssert.Close(a.Covariance, c[$"{tag}/sigma_a"], double.MaxValue, Relative, $"{tag}/sigma_a");
        TensorAssert.Close(b.Covariance, c[$"{tag}/sigma_b"], double.MaxValue, Relative, $"{tag}/sigma_b");

        var result = FrechetDistance.Compute(a, b, eps);
        result.UsedEpsOffset.Should().Be(c[$"{tag}/used_eps_fallback"].item<bool>(), "the eps fallback is used exactly where scipy needs it");
        result.TraceSqrtProduct.Should().BeApproximately(c[$"{tag}/trace_sqrt_product"].item<double>(),
            Relative * Math.Abs(c[$"{tag}/trace_sqrt_product"].item<double>()), $"{tag}/trace_sqrt_product");
        double expected = c[$"{tag}/fid"].item<double>();
        output.WriteLine($"{tag}: fid {result.Distance:R} (expected {expected:R}, relative error {Math.Abs(result.Distance - expected) / expected:E2}), eps offset {result.UsedEpsOffset}");
        result.Distance.Should().BeApproximately(expected, Relative * Math.Abs(expected), $"{tag}/fid");
    }

    [ParityTheory("fid")]
    [MemberData(nameof(SubCases))]
    public void Eigen_traces_match_the_kit_both_with_and_without_offset(string tag)
    {
        using var c = ParityKit.Open("fid");
        double eps = c.Get<double>("eps");
        using var a = GaussianStatistics.FromFeatures(c[$"{tag}/features_a"]);
        using var b = GaussianStatistics.FromFeatures(c[$"{tag}/features_b"]);
        double plain = c[$"{tag}/trace_sqrt_product_eig"].item<double>();
        FrechetDistance.TraceSqrtProduct(a.Covariance, b.Covariance)!.Value
            .Should().BeApproximately(plain, Relative * plain, $"{tag}/trace_sqrt_product_eig");
        using var offset = TorchSharp.torch.eye(a.Dimension, dtype: TorchSharp.torch.float64) * eps;
        double withOffset = c[$"{tag}/trace_sqrt_product_eps_eig"].item<double>();
        FrechetDistance.TraceSqrtProduct(a.Covariance + offset, b.Covariance + offset)!.Value
            .Should().BeApproximately(withOffset, Relative * withOffset, $"{tag}/trace_sqrt_product_eps_eig");
    }
}
