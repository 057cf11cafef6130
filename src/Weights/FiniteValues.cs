using static TorchSharp.torch;

namespace RaePipeline.Weights;

/// <summary>NaN and infinity where numbers enter the program: a corrupt file or a diverged run is refused by name, not used.</summary>
public static class FiniteValues
{
    /// <summary>Null when <paramref name="tensor"/> is finite (or not floating point), else what it holds, e.g. "3 NaN, 1 infinite of 64".</summary>
    public static string? Describe(Tensor tensor)
    {
        if (!tensor.is_floating_point() && !tensor.is_complex()) return null;
        using var scope = NewDisposeScope();
        if (isfinite(tensor).all().item<bool>()) return null;
        long nan = isnan(tensor).sum().item<long>();
        long infinite = isinf(tensor).sum().item<long>();
        return $"{nan} NaN, {infinite} infinite of {tensor.NumberOfElements} values";
    }

    /// <summary>Refuses <paramref name="tensor"/> when it holds NaN or infinity, naming <paramref name="source"/> (a file) and the tensor.</summary>
    public static void Require(Tensor tensor, string source, string name)
    {
        if (Describe(tensor) is { } found)
            throw new WeightsFormatException($"{source}: tensor '{name}' holds non-finite values ({found})", source);
    }
}
