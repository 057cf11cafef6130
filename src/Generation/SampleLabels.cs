using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Generation;

/// <summary>The class label of every image of a sampling run, fixed before any batch or shard is cut.</summary>
public static class SampleLabels
{
    /// <summary>
    /// <c>equal</c>: the same count per class (image i gets class i mod K), shuffled with a generator seeded from the
    /// run seed, as the FID protocol's <c>--label-sampling equal</c>; <c>random</c>: uniform draws; explicit
    /// <paramref name="classes"/> are repeated in order. Returns (N,) int64.
    /// </summary>
    public static Tensor For(int count, int numClasses, string sampling, int[]? classes, long seed)
    {
        if (classes is { Length: > 0 })
        {
            var outside = classes.Where(c => c < 0 || c >= numClasses).ToList();
            if (outside.Count > 0)
                throw new ArgumentException($"class labels {string.Join(", ", outside)} are outside 0..{numClasses - 1}");
            return torch.tensor(Enumerable.Range(0, count).Select(i => (long)classes[i % classes.Length]).ToArray());
        }
        var generator = new Generator(SampleSeeds.For(seed, SampleSeeds.LabelStream, 0));
        return sampling switch
        {
            "equal" => torch.arange(count, dtype: int64).remainder(numClasses)[torch.randperm(count, generator: generator)],
            "random" => torch.randint(0, numClasses, [count], dtype: int64, generator: generator),
            _ => throw new ArgumentException($"label sampling '{sampling}' is not one of equal, random"),
        };
    }
}
