using RaePipeline.Metrics;
using static TorchSharp.torch;

namespace RaePipeline.Metrics.Tests;

public class InceptionScoreTests
{
    [Fact]
    public void Confident_predictions_spread_over_k_classes_score_k_and_identical_predictions_score_one()
    {
        int k = 10;
        using var labels = arange(40) % k;
        using var oneHot = nn.functional.one_hot(labels, k).to(float32);
        InceptionScore.Compute(oneHot).Mean.Should().BeApproximately(k, 1e-9);

        using var same = full([40, k], 1f / k);
        InceptionScore.Compute(same).Mean.Should().BeApproximately(1, 1e-9);
    }

    [Fact]
    public void Splits_are_consecutive_chunks_scored_separately()
    {
        // First split: 4 classes, each once -> 4; second split: one class only -> 1. Mean 2.5, population std 1.5.
        using var labels = tensor(new long[] { 0, 1, 2, 3, 5, 5, 5, 5 });
        using var oneHot = nn.functional.one_hot(labels, 6).to(float32);
        var result = InceptionScore.Compute(oneHot, splitSize: 4);
        result.Splits.Should().Be(2);
        result.Mean.Should().BeApproximately(2.5, 1e-9);
        result.StandardDeviation.Should().BeApproximately(1.5, 1e-9);
    }
}
