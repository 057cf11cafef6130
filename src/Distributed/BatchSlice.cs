namespace RaePipeline.Distributed;

/// <summary>
/// The rows of a global batch that one rank computes in data-parallel training: rank r of W takes rows
/// <c>[r * B / W, (r + 1) * B / W)</c> of every global batch of B samples (uneven splits differ by one row; with
/// B &lt; W some ranks get none). The global batch, its order and each sample's randomness (seeded by
/// <see cref="FirstSample"/>) do not depend on W, so W ranks compute what one process computes.
/// </summary>
public readonly record struct BatchSlice(int Start, int End, int GlobalSize)
{
    public static BatchSlice Of(int globalSize, int rank, int worldSize)
    {
        if (globalSize < 1) throw new ArgumentOutOfRangeException(nameof(globalSize), globalSize, "the global batch must hold at least one sample");
        var (start, end) = EvenSplit.Part(globalSize, rank, worldSize);
        return new BatchSlice((int)start, (int)end, globalSize);
    }

    public static BatchSlice Of(int globalSize, ProcessGroup group) => Of(globalSize, group.Rank, group.WorldSize);

    public int Count => End - Start;

    public bool IsEmpty => Count == 0;

    /// <summary>This rank's share of the global batch: the weight of its mean loss and gradient in the global mean.</summary>
    public double Weight => (double)Count / GlobalSize;

    /// <summary>The run-wide number of this slice's first sample in global batch <paramref name="batchIndex"/> (batch b holds samples b * B .. b * B + B - 1).</summary>
    public long FirstSample(long batchIndex) => batchIndex * GlobalSize + Start;
}
