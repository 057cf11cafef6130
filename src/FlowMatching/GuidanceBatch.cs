using static TorchSharp.torch;

namespace RaePipeline.FlowMatching;

/// <summary>
/// The doubled batch the official sampling scripts build for guided sampling: x = [noise; noise] (2b, C, h, w),
/// y = [labels; null label] (2b,). Samplers integrate all 2b states; the result is the first half.
/// </summary>
public static class GuidanceBatch
{
    /// <summary>noise: (b, C, h, w), labels: (b,) int64 -> ([noise; noise], [labels; null ... null]).</summary>
    public static (Tensor X, Tensor Y) Double(Tensor noise, Tensor labels, long nullLabel)
    {
        if (labels.dim() != 1 || labels.shape[0] != noise.shape[0])
            throw new ArgumentException(
                $"labels must be (b,) with b = {noise.shape[0]} (the noise batch), got [{string.Join(", ", labels.shape)}]");
        using var scope = NewDisposeScope();
        var x = cat([noise, noise], 0);
        var y = cat([labels, full_like(labels, nullLabel)], 0);
        return (x.MoveToOuterDisposeScope(), y.MoveToOuterDisposeScope());
    }

    /// <summary>(2b, ...) -> the first half (b, ...), the conditional samples (a view).</summary>
    public static Tensor FirstHalf(Tensor doubled) => doubled[..(int)HalfOf(doubled, "the doubled batch")];

    internal static long HalfOf(Tensor x, string what)
    {
        if (x.dim() < 1 || x.shape[0] % 2 != 0)
            throw new ArgumentException(
                $"{what} expects the doubled batch [x; x] with an even batch size, got [{string.Join(", ", x.shape)}]");
        return x.shape[0] / 2;
    }
}
