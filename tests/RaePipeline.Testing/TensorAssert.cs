using TorchSharp;
using Xunit.Sdk;
using Xunit;
using static TorchSharp.torch;

namespace RaePipeline.Testing;

/// <summary>Numeric comparisons of tensors with the parity kit's criteria.</summary>
public static class TensorAssert
{
    /// <summary>
    /// Same shape, and max |actual - expected| ≤ <paramref name="maxAbs"/> and
    /// max |actual - expected| / max |expected| ≤ <paramref name="maxRelativeToMax"/>. Returns the max abs error.
    /// </summary>
    public static double Close(Tensor actual, Tensor expected, double maxAbs = 1e-4, double maxRelativeToMax = 1e-4,
        string what = "tensor")
    {
        if (!actual.shape.SequenceEqual(expected.shape))
            throw new XunitException(
                $"{what}: shape [{string.Join(", ", actual.shape)}], expected [{string.Join(", ", expected.shape)}]");
        using var scope = NewDisposeScope();
        var a = actual.detach().cpu().to(float64);
        var e = expected.detach().cpu().to(float64);
        if (!a.isfinite().all().item<bool>())
            throw new XunitException($"{what}: contains NaN or infinity");
        double error = (a - e).abs().max().item<double>();
        double scale = Math.Max(e.abs().max().item<double>(), 1e-30);
        if (error > maxAbs || error / scale > maxRelativeToMax)
            throw new XunitException(
                $"{what}: max abs error {error:E3} (relative to max |expected| {error / scale:E3}); allowed {maxAbs:E1} abs and {maxRelativeToMax:E1} relative");
        return error;
    }
}

/// <summary>Exact tensor equality for assertions.</summary>
public static class TensorComparison
{
    /// <summary>Same shape, same dtype, every element equal.</summary>
    public static bool SameValues(this Tensor actual, Tensor expected) =>
        actual.shape.SequenceEqual(expected.shape) && actual.dtype == expected.dtype &&
        actual.eq(expected).all().item<bool>();
}
