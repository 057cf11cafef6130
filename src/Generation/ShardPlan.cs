namespace RaePipeline.Generation;

/// <summary>
/// How a run of N images is cut: batches of a fixed size in image order, and shard i of S takes the contiguous
/// batch range [i*nb/S, (i+1)*nb/S). Every batch holds the same images whichever shard computes it, so shards
/// together compute exactly what one run computes.
/// </summary>
public sealed record ShardPlan(int Images, int BatchSize, int Index, int Count)
{
    public int Batches => (Images + BatchSize - 1) / BatchSize;

    public int FirstBatch => (int)((long)Index * Batches / Count);

    public int EndBatch => (int)((long)(Index + 1) * Batches / Count);

    public int FirstImage => Math.Min(Images, FirstBatch * BatchSize);

    public int EndImage => Math.Min(Images, EndBatch * BatchSize);

    public IEnumerable<(int Start, int End)> BatchRanges() =>
        Enumerable.Range(FirstBatch, EndBatch - FirstBatch)
            .Select(b => (b * BatchSize, Math.Min(Images, (b + 1) * BatchSize)));

    /// <summary>Parses <c>i/N</c> (0 ≤ i &lt; N); null or empty = the whole run.</summary>
    public static ShardPlan Parse(string? shard, int images, int batchSize)
    {
        if (string.IsNullOrEmpty(shard)) return new ShardPlan(images, batchSize, 0, 1);
        var parts = shard.Split('/');
        if (parts.Length != 2 || !int.TryParse(parts[0], out var index) || !int.TryParse(parts[1], out var count)
            || count < 1 || index < 0 || index >= count)
            throw new ArgumentException($"shard '{shard}': expected i/N with 0 ≤ i < N, e.g. 0/4");
        return new ShardPlan(images, batchSize, index, count);
    }
}
