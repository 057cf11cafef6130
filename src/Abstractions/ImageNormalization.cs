namespace RaePipeline.Abstractions;

/// <summary>Per-channel image mean and standard deviation (RGB) an encoder normalizes its input with.</summary>
public sealed record ImageNormalization(float[] Mean, float[] Std)
{
    public static ImageNormalization ImageNet { get; } = new([0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]);
    public static ImageNormalization Half { get; } = new([0.5f, 0.5f, 0.5f], [0.5f, 0.5f, 0.5f]);

    public bool SameAs(ImageNormalization other) =>
        Mean.SequenceEqual(other.Mean) && Std.SequenceEqual(other.Std);

    public override string ToString() =>
        $"mean ({string.Join(", ", Mean)}), std ({string.Join(", ", Std)})";
}
