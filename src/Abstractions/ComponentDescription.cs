namespace RaePipeline.Abstractions;

/// <summary>
/// What validation needs to know about a component before it is built. Unknown parts stay null (for example an
/// encoder whose config.json is not on this machine); warnings are shown to the user but do not fail validation.
/// </summary>
public sealed record ComponentDescription
{
    /// <summary>The latent a component produces (encoder) or consumes (decoder, denoiser): (C, h, w).</summary>
    public LatentShape? Latent { get; init; }

    /// <summary>Image side in pixels: the encoder's input size or the decoder's output size.</summary>
    public int? ImageSize { get; init; }

    /// <summary>Number of classes of a class-conditional denoiser.</summary>
    public int? NumClasses { get; init; }

    public IReadOnlyList<string> Warnings { get; init; } = [];
}
