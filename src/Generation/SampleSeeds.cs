namespace RaePipeline.Generation;

/// <summary>
/// Seeds derived from the run seed so that every image and every batch has its own stream, independent of how the
/// work is split into batches or shards (SplitMix64 mixing of (seed, stream, index)).
/// </summary>
public static class SampleSeeds
{
    public const ulong NoiseStream = 1;
    public const ulong SamplerStream = 2;
    public const ulong LabelStream = 3;

    public static ulong For(long seed, ulong stream, long index)
    {
        ulong z = unchecked((ulong)seed * 0x9E3779B97F4A7C15UL + stream * 0xBF58476D1CE4E5B9UL + (ulong)index + 1);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        return z ^ (z >> 31);
    }
}
