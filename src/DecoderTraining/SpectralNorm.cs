using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.DecoderTraining;

/// <summary>
/// Spectral normalization as <c>torch.nn.utils.spectral_norm(dim=0)</c>: the weight viewed as a matrix
/// (out, in*k...) is divided by sigma = u^T W v, where u and v are estimates of its top singular vectors that power
/// iteration refines in place (in training mode only) and that are constants for the gradient.
/// </summary>
public static class SpectralNorm
{
    public const double Eps = 1e-12;

    /// <summary>Fresh singular-vector estimates for a weight with <paramref name="rows"/> x <paramref name="columns"/>: normalize(N(0, 1)).</summary>
    public static (Tensor U, Tensor V) InitialVectors(long rows, long columns, Generator? generator = null)
    {
        using var scope = NewDisposeScope();
        var u = nn.functional.normalize(randn(rows, generator: generator), p: 2, dim: 0, eps: Eps);
        var v = nn.functional.normalize(randn(columns, generator: generator), p: 2, dim: 0, eps: Eps);
        return (u.MoveToOuterDisposeScope(), v.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// weightOrig: (out, ...) -> weightOrig / sigma. With <paramref name="powerIterations"/> &gt; 0, first updates
    /// <paramref name="u"/> (out) and <paramref name="v"/> (in*k...) in place: v = normalize(W^T u), u = normalize(W v).
    /// </summary>
    public static Tensor Normalize(Tensor weightOrig, Tensor u, Tensor v, int powerIterations)
    {
        using var scope = NewDisposeScope();
        var matrix = weightOrig.reshape(weightOrig.shape[0], -1);
        if (powerIterations > 0)
        {
            using var noGrad = no_grad();
            var detached = matrix.detach();
            for (int i = 0; i < powerIterations; i++)
            {
                v.copy_(nn.functional.normalize(mv(detached.t(), u), p: 2, dim: 0, eps: Eps));
                u.copy_(nn.functional.normalize(mv(detached, v), p: 2, dim: 0, eps: Eps));
            }
        }
        var sigma = dot(u.clone(), mv(matrix, v.clone()));
        return (weightOrig / sigma).MoveToOuterDisposeScope();
    }
}
