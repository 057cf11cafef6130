namespace RaePipeline.Distributed;

/// <summary>
/// Contiguous, as even as possible parts of <c>[0, total)</c>: part i of n is <c>[i * total / n, (i + 1) * total / n)</c>
/// (integer division), so part sizes differ by at most one and the parts in order cover the range exactly once.
/// </summary>
public static class EvenSplit
{
    public static (long Start, long End) Part(long total, int index, int count)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, "there must be at least one part");
        if (index < 0 || index >= count) throw new ArgumentOutOfRangeException(nameof(index), index, $"part index must lie in 0..{count - 1}");
        if (total < 0) throw new ArgumentOutOfRangeException(nameof(total), total, "the range must not be negative");
        return ((long)((Int128)index * total / count), (long)((Int128)(index + 1) * total / count));
    }
}
