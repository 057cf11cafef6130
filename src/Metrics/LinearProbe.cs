using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace RaePipeline.Metrics;

/// <summary>
/// A linear classifier on frozen features: multinomial logistic regression (softmax), fitted in float64 by
/// <see cref="Lbfgs"/> from zero weights on the mean cross-entropy plus <c>l2</c>/2 · |W|² (the bias is not penalized), on features
/// standardized with the fitting set's mean and standard deviation (a constant feature keeps scale 1). Standardizing
/// makes one <c>l2</c> suit any feature extractor.
/// </summary>
public sealed class LinearProbe : IDisposable
{
    readonly Tensor mean;      // (D,)
    readonly Tensor scale;     // (D,)
    readonly Tensor weights;   // (D + 1, K): the last row is the bias

    LinearProbe(Tensor mean, Tensor scale, Tensor weights, int iterations, bool converged, double loss)
    {
        this.mean = mean;
        this.scale = scale;
        this.weights = weights;
        Iterations = iterations;
        Converged = converged;
        Loss = loss;
    }

    public int NumClasses => (int)weights.shape[1];

    /// <summary>L-BFGS iterations the fit took.</summary>
    public int Iterations { get; }

    /// <summary>False when the fit stopped at the iteration cap before its gradient tolerance.</summary>
    public bool Converged { get; }

    /// <summary>The regularized training loss at the fitted weights.</summary>
    public double Loss { get; }

    /// <param name="features">(N, D), any float dtype.</param>
    /// <param name="labels">(N,) integer labels in [0, <paramref name="numClasses"/>).</param>
    public static LinearProbe Fit(Tensor features, Tensor labels, int numClasses, double l2, Lbfgs optimizer)
    {
        if (features.dim() != 2 || labels.dim() != 1 || labels.shape[0] != features.shape[0] || features.shape[0] == 0)
            throw new ArgumentException(
                $"a linear probe needs features (N, D) and labels (N,) with N ≥ 1; got [{string.Join(", ", features.shape)}] and [{string.Join(", ", labels.shape)}]");
        if (numClasses < 2) throw new ArgumentException($"a linear probe needs at least 2 classes, got {numClasses}");
        if (l2 < 0 || !double.IsFinite(l2)) throw new ArgumentException($"the L2 penalty must be finite and ≥ 0, got {l2}");
        using var scope = NewDisposeScope();
        var x = features.detach().cpu().to(float64);
        if (!x.isfinite().all().item<bool>()) throw new ArgumentException("the probe's features contain NaN or infinity");
        var y = labels.detach().cpu().to(int64);
        long low = y.min().item<long>(), high = y.max().item<long>();
        if (low < 0 || high >= numClasses) throw new ArgumentException($"probe labels must lie in [0, {numClasses}); found {low}..{high}");

        var mean = x.mean([0]);
        var std = x.std(0, unbiased: false);
        var scale = where(std.gt(1e-12 * Math.Max(1, std.max().item<double>())), std, ones_like(std));
        var design = WithBias((x - mean) / scale);                                // (N, D + 1)
        long dimension = x.shape[1];
        var penalized = ones(dimension + 1, 1, dtype: float64);
        penalized[dimension] = 0;                                                 // no penalty on the bias row
        var targets = F.one_hot(y, numClasses).to(float64);                      // (N, K)
        double count = x.shape[0];

        (double, double[]) Objective(double[] flat)
        {
            using var inner = NewDisposeScope();
            var w = torch.tensor(flat, dtype: float64).view(dimension + 1, numClasses);
            var logProbabilities = F.log_softmax(design.matmul(w), 1);
            var penalty = w * penalized;
            double loss = -(targets * logProbabilities).sum().item<double>() / count + 0.5 * l2 * penalty.square().sum().item<double>();
            var gradient = design.t().matmul(logProbabilities.exp() - targets) / count + l2 * penalty;
            return (loss, gradient.flatten().data<double>().ToArray());
        }

        var result = optimizer.Minimize(Objective, new double[(dimension + 1) * numClasses]);
        var fitted = torch.tensor(result.Minimizer, dtype: float64).view(dimension + 1, numClasses);
        return new LinearProbe(mean.MoveToOuterDisposeScope(), scale.MoveToOuterDisposeScope(), fitted.MoveToOuterDisposeScope(),
            result.Iterations, result.Converged, result.Value);
    }

    /// <summary>features: (N, D) -> (N,) int64, the most probable class of each row.</summary>
    public Tensor Predict(Tensor features)
    {
        if (features.dim() != 2 || features.shape[1] != mean.shape[0])
            throw new ArgumentException($"the probe was fitted on {mean.shape[0]}-dimensional features; got [{string.Join(", ", features.shape)}]");
        using var scope = NewDisposeScope();
        var x = features.detach().cpu().to(float64);
        return WithBias((x - mean) / scale).matmul(weights).argmax(1).MoveToOuterDisposeScope();
    }

    /// <summary>The share of rows of <paramref name="features"/> (N, D) predicted as their <paramref name="labels"/> (N,).</summary>
    public double Accuracy(Tensor features, Tensor labels)
    {
        if (labels.dim() != 1 || labels.shape[0] != features.shape[0] || labels.shape[0] == 0)
            throw new ArgumentException($"accuracy needs one label per feature row; got {labels.shape[0]} labels for {features.shape[0]} rows");
        using var scope = NewDisposeScope();
        return Predict(features).eq(labels.cpu().to(int64)).to(float64).mean().item<double>();
    }

    static Tensor WithBias(Tensor x) => cat([x, ones(x.shape[0], 1, dtype: x.dtype)], 1);

    public void Dispose()
    {
        mean.Dispose();
        scale.Dispose();
        weights.Dispose();
    }
}
