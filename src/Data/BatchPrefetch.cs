using RaePipeline.Pipeline;

namespace RaePipeline.Data;

/// <summary>
/// How <see cref="ShuffledBatches"/> loads ahead: <see cref="Depth"/> batches after the one asked for are loaded on
/// background threads (a bounded queue: never more than that many wait), each batch's samples (decoding, cropping,
/// flipping) loaded by up to <see cref="Workers"/> threads at once. Depth 0 loads every batch on the caller's thread
/// when it is asked for. Either way batch i holds the same samples: which sample and flip go where is planned from
/// the seed before anything is loaded.
/// </summary>
public sealed record BatchPrefetch(int Depth, int Workers)
{
    /// <summary>No loading ahead, one sample after the other on the caller's thread.</summary>
    public static BatchPrefetch Off { get; } = new(0, 1);

    /// <summary>The data block's <c>prefetch</c> batches ahead (0: <see cref="Off"/>), a worker per core.</summary>
    public static BatchPrefetch For(DataOptions data) =>
        data.Prefetch > 0 ? new(data.Prefetch, Math.Max(1, Environment.ProcessorCount)) : Off;

    public bool IsOn => Depth > 0;

    internal void Check()
    {
        if (Depth < 0) throw new ArgumentOutOfRangeException(nameof(Depth), Depth, "the prefetch depth must be 0 (off) or positive");
        if (Workers < 1) throw new ArgumentOutOfRangeException(nameof(Workers), Workers, "at least one worker loads samples");
    }
}
