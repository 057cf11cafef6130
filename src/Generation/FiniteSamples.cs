using static TorchSharp.torch;

namespace RaePipeline.Generation;

/// <summary>
/// The check samples pass before they are written: a NaN or infinite latent or pixel would otherwise be written as a
/// black or white picture that looks like a result (NaN weights, a broken statistics file, a diverged model).
/// </summary>
public static class FiniteSamples
{
    /// <summary>
    /// Returns <paramref name="values"/> when every value is finite; otherwise throws
    /// <see cref="NonFiniteSamplesException"/>: "<paramref name="what"/> has n NaN and m infinite values ...".
    /// </summary>
    /// <param name="what">What the values are, e.g. "sample: the sampler's latents of images 0..15".</param>
    /// <param name="hint">Where the user should look, e.g. "check the denoiser's weights and the guidance scale".</param>
    public static Tensor Check(Tensor values, string what, string hint)
    {
        using (var finite = values.isfinite().all())
            if (finite.item<bool>()) return values;
        long nan, infinite;
        using (var mask = values.isnan()) nan = mask.sum().item<long>();
        using (var mask = values.isinf()) infinite = mask.sum().item<long>();
        throw new NonFiniteSamplesException(
            $"{what} have {nan} NaN and {infinite} infinite values (of {values.numel()}); nothing was written for them: {hint}");
    }
}

/// <summary>Samples with NaN or infinite values, refused before anything was written for them.</summary>
public sealed class NonFiniteSamplesException(string message) : Exception(message);
