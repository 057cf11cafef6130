using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Metrics;

/// <summary>What the linear probe found.</summary>
/// <param name="Accuracy">Share of generated samples the probe assigns to the class they were generated for.</param>
/// <param name="Ceiling">The probe's accuracy on the held-out real images: what a perfect generator would reach.</param>
/// <param name="Chance">1 / the number of classes of the real images.</param>
public readonly record struct ProbeAccuracyResult(
    double Accuracy, double Ceiling, double Chance, int FitCount, int HeldOutCount, int SampleCount, int NumClasses,
    int Iterations, bool Converged);

/// <summary>
/// Class-conditional sample quality by a linear probe: the real labelled images' features are split, per class and
/// seeded, into a fitting part and a held-out part (<c>heldOutFraction</c> of each class with at least two images,
/// at least one image); a <see cref="LinearProbe"/> is fitted on the first; its accuracy on the held-out part is the
/// ceiling, its accuracy on the samples' features against their conditioning labels the score.
/// </summary>
public static class ProbeAccuracy
{
    /// <param name="realFeatures">(N, D) features of real images.</param>
    /// <param name="realLabels">(N,) their classes, 0..K-1.</param>
    /// <param name="sampleFeatures">(M, D) features of generated images (the same extractor).</param>
    /// <param name="sampleLabels">(M,) the classes the samples were generated for.</param>
    public static ProbeAccuracyResult Compute(Tensor realFeatures, Tensor realLabels, Tensor sampleFeatures, Tensor sampleLabels,
        double heldOutFraction, double l2, Lbfgs optimizer, ulong seed)
    {
        if (!(heldOutFraction > 0 && heldOutFraction < 1))
            throw new ArgumentException($"the held-out fraction must lie in (0, 1), got {heldOutFraction}");
        if (sampleFeatures.dim() != 2 || sampleLabels.dim() != 1 || sampleLabels.shape[0] != sampleFeatures.shape[0] || sampleLabels.shape[0] == 0)
            throw new ArgumentException(
                $"the probe needs sample features (M, D) with one label each; got [{string.Join(", ", sampleFeatures.shape)}] and [{string.Join(", ", sampleLabels.shape)}]");
        using var scope = NewDisposeScope();
        var givenLabels = realLabels.detach().cpu().to(int64);
        var classes = givenLabels.unique().output.data<long>().ToArray();
        if (classes[0] < 0) throw new ArgumentException($"real image labels must be ≥ 0; found {classes[0]}");
        if (classes.Length < 2)
            throw new ArgumentException($"the probe needs real images of at least 2 classes; found only class {classes[0]}");
        var targets = sampleLabels.detach().cpu().to(int64);
        var unknown = targets.unique().output.data<long>().Where(c => Array.BinarySearch(classes, c) < 0).ToArray();
        if (unknown.Length > 0)
            throw new ArgumentException(
                $"samples were generated for classes {string.Join(", ", unknown)}, which no real image has (real classes: {string.Join(", ", classes)})");

        // The probe's classes are the real classes present, numbered 0..K-1 in label order.
        var compact = full(classes[^1] + 1, -1L, dtype: int64);
        compact[tensor(classes)] = arange(classes.Length, dtype: int64);
        var labels = compact[givenLabels];
        var (fit, heldOut) = StratifiedSplit(labels, classes.Length, heldOutFraction, seed);
        var features = realFeatures.detach().cpu();
        using var probe = LinearProbe.Fit(features.index_select(0, fit), labels.index_select(0, fit), classes.Length, l2, optimizer);
        double ceiling = probe.Accuracy(features.index_select(0, heldOut), labels.index_select(0, heldOut));
        double accuracy = probe.Accuracy(sampleFeatures, compact[targets]);
        return new ProbeAccuracyResult(accuracy, ceiling, 1.0 / classes.Length, (int)fit.shape[0], (int)heldOut.shape[0],
            (int)targets.shape[0], classes.Length, probe.Iterations, probe.Converged);
    }

    /// <summary>(fit, held-out) row indices: within each class a seeded permutation, its first share held out.</summary>
    static (Tensor Fit, Tensor HeldOut) StratifiedSplit(Tensor labels, int numClasses, double heldOutFraction, ulong seed)
    {
        using var generator = new Generator(seed, CPU);
        var fit = new List<Tensor>();
        var heldOut = new List<Tensor>();
        for (long c = 0; c < numClasses; c++)
        {
            var members = labels.eq(c).nonzero().flatten();
            long count = members.shape[0];
            var shuffled = members.index_select(0, randperm(count, generator: generator));
            long held = count < 2 ? 0 : Math.Clamp((long)Math.Round(heldOutFraction * count), 1, count - 1);
            heldOut.Add(shuffled[..(int)held]);
            fit.Add(shuffled[(int)held..]);
        }
        var heldOutRows = cat(heldOut);
        if (heldOutRows.shape[0] == 0)
            throw new ArgumentException("no class has two real images: nothing can be held out to measure the probe's ceiling");
        return (cat(fit), heldOutRows);
    }
}
