namespace RaePipeline.Distributed;

/// <summary>
/// How a run of N items (images to sample, encode, measure or score) is cut: batches of a fixed size in item order,
/// and shard i of S takes the contiguous batch range [i*nb/S, (i+1)*nb/S). Every batch holds the same items whichever
/// shard computes it, so shards together compute exactly what one run computes, and shard i's items come before
/// shard i+1's: their results concatenated in shard order are the single run's.
/// </summary>
public sealed record ShardPlan(int Items, int BatchSize, int Index, int Count)
{
    public int Batches => (Items + BatchSize - 1) / BatchSize;

    public int FirstBatch => (int)EvenSplit.Part(Batches, Index, Count).Start;

    public int EndBatch => (int)EvenSplit.Part(Batches, Index, Count).End;

    public int FirstItem => Math.Min(Items, FirstBatch * BatchSize);

    public int EndItem => Math.Min(Items, EndBatch * BatchSize);

    /// <summary>The number of items this shard computes (0 when there are fewer batches than shards).</summary>
    public int ItemCount => EndItem - FirstItem;

    /// <summary>The item ranges [Start, End) of this shard's batches, in order.</summary>
    public IEnumerable<(int Start, int End)> BatchRanges() =>
        Enumerable.Range(FirstBatch, EndBatch - FirstBatch)
            .Select(b => (b * BatchSize, Math.Min(Items, (b + 1) * BatchSize)));

    /// <summary>Shard <paramref name="selection"/> of a run of <paramref name="items"/> items in batches of <paramref name="batchSize"/>.</summary>
    public static ShardPlan For(ShardSelection selection, int items, int batchSize)
    {
        if (items < 0) throw new ArgumentOutOfRangeException(nameof(items), items, "the number of items must not be negative");
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "the batch size must be at least 1");
        return new ShardPlan(items, batchSize, selection.Index, selection.Count);
    }

    /// <summary>Parses <c>i/N</c> (0 ≤ i &lt; N); null or empty = the whole run.</summary>
    public static ShardPlan Parse(string? shard, int items, int batchSize) =>
        For(string.IsNullOrEmpty(shard) ? ShardSelection.Whole : ShardSelection.Parse(shard), items, batchSize);
}
