using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Metrics;

/// <summary>The Fréchet distance and the parts it was computed from.</summary>
/// <param name="Distance">|mu_a - mu_b|² + tr(S_a) + tr(S_b) - 2 tr(sqrtm(S_a S_b)).</param>
/// <param name="TraceSqrtProduct">tr(sqrtm(S_a S_b)) as used in <paramref name="Distance"/>.</param>
/// <param name="UsedEpsOffset">True when both covariances were offset by eps·I (degenerate statistics).</param>
public readonly record struct FrechetDistanceResult(double Distance, double TraceSqrtProduct, bool UsedEpsOffset);

/// <summary>
/// Fréchet distance between two Gaussians in float64, as the ADM evaluator's <c>FIDStatistics.frechet_distance</c>
/// (and pytorch-fid's <c>calculate_frechet_distance</c>), eps = 1e-6.
/// <para>
/// The reference takes <c>scipy.linalg.sqrtm(S_a S_b)</c> (a Schur method) and retries with both covariances offset
/// by eps·I when the root is not finite. Here tr(sqrtm(S_a S_b)) is computed through symmetric eigendecompositions:
/// S_a S_b is similar to S_a^½ S_b S_a^½ (symmetric, positive semi-definite), so the trace is Σ sqrt(eig(S_a^½ S_b S_a^½)).
/// Schur's root fails exactly when the product has repeated exact zero eigenvalues, which happens when feature
/// dimensions are constant (zero rows and columns in a covariance); in that case, or when an eigenvalue comes out
/// clearly negative (a square root that fails), the eps offset is applied as the reference does. Rank deficiency
/// from too few samples (N ≤ D) leaves only rounding-size eigenvalues and needs no offset, as with scipy.
/// </para>
/// </summary>
public static class FrechetDistance
{
    public const double DefaultEps = 1e-6;

    /// <summary>A variance at or below this fraction of the largest variance counts as a constant feature.</summary>
    const double ConstantFeatureTolerance = 1e-12;

    /// <summary>A negative eigenvalue of S_a^½ S_b S_a^½ beyond this fraction of the largest is a failed root.</summary>
    const double NegativeEigenvalueTolerance = 1e-8;

    public static FrechetDistanceResult Compute(GaussianStatistics a, GaussianStatistics b, double eps = DefaultEps)
    {
        if (a.Dimension != b.Dimension)
            throw new ArgumentException(
                $"the two statistics have different feature dimensions: {a.Dimension} and {b.Dimension} (were they computed by the same feature extractor?)");
        using var scope = NewDisposeScope();
        var diff = a.Mean - b.Mean;
        double meanTerm = diff.dot(diff).item<double>();
        double traceA = a.Covariance.trace().item<double>();
        double traceB = b.Covariance.trace().item<double>();

        bool offset = HasConstantFeature(a.Covariance) || HasConstantFeature(b.Covariance);
        double? trace = offset ? null : TraceSqrtProduct(a.Covariance, b.Covariance);
        if (trace is null)
        {
            offset = true;
            using var identity = eye(a.Dimension, dtype: float64) * eps;
            trace = TraceSqrtProduct(a.Covariance + identity, b.Covariance + identity)
                ?? throw new ArithmeticException(
                    $"the covariance product has no real square root even with {eps} added to the diagonals (are the covariances positive semi-definite?)");
        }
        double distance = meanTerm + traceA + traceB - 2 * trace.Value;
        if (!double.IsFinite(distance))
            throw new ArithmeticException($"Fréchet distance is not finite ({distance}): the statistics contain NaN or infinity");
        return new FrechetDistanceResult(distance, trace.Value, offset);
    }

    /// <summary>
    /// tr(sqrtm(S_a S_b)) = Σ sqrt(eig(S_a^½ S_b S_a^½)) for symmetric PSD (D, D) float64 matrices, or null when an
    /// eigenvalue is clearly negative (the root fails).
    /// </summary>
    public static double? TraceSqrtProduct(Tensor covarianceA, Tensor covarianceB)
    {
        using var scope = NewDisposeScope();
        var rootA = SymmetricSquareRoot(covarianceA);
        var product = rootA.matmul(covarianceB).matmul(rootA);
        product = (product + product.t()) / 2;
        var eigenvalues = linalg.eigvalsh(product);
        double largest = eigenvalues.abs().max().item<double>();
        double smallest = eigenvalues.min().item<double>();
        if (smallest < -NegativeEigenvalueTolerance * Math.Max(largest, double.Epsilon))
            return null;
        return eigenvalues.clamp_min(0).sqrt().sum().item<double>();
    }

    /// <summary>S^½ of a symmetric PSD (D, D) matrix through eigh, negative rounding eigenvalues clamped to 0.</summary>
    static Tensor SymmetricSquareRoot(Tensor symmetric)
    {
        using var scope = NewDisposeScope();
        var (values, vectors) = linalg.eigh(symmetric);
        var root = (vectors * values.clamp_min(0).sqrt()).matmul(vectors.t());
        return ((root + root.t()) / 2).MoveToOuterDisposeScope();
    }

    static bool HasConstantFeature(Tensor covariance)
    {
        using var scope = NewDisposeScope();
        var variances = covariance.diagonal();
        double largest = variances.max().item<double>();
        return variances.min().item<double>() <= ConstantFeatureTolerance * largest;
    }
}
