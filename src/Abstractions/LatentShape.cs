namespace RaePipeline.Abstractions;

/// <summary>Shape of one latent without the batch dimension: (Channels, Height, Width).</summary>
public readonly record struct LatentShape(int Channels, int Height, int Width)
{
    public long Elements => (long)Channels * Height * Width;

    public long[] WithBatch(long batch) => [batch, Channels, Height, Width];

    public override string ToString() => $"({Channels}, {Height}, {Width})";
}
