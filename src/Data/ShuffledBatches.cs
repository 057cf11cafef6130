using System.Runtime.ExceptionServices;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Data;

/// <summary>
/// An endless sequence of batches over a sample collection, epoch after epoch. Epoch e's order is a
/// <c>randperm</c> and its flips are <c>rand &lt; 0.5</c> draws, both from a torch generator seeded with
/// (seed, e), so batch i is the same whenever it is asked for: a resumed run continues with exactly the batches
/// the interrupted run would have seen. With <c>dropLast</c> the incomplete tail of an epoch is skipped. With a
/// <see cref="BatchPrefetch"/> the next batches load on background threads while the caller works on this one
/// (dispose the batcher to stop them); the batches are the same with and without it.
/// </summary>
public sealed class ShuffledBatches : IDisposable
{
    /// <summary>Epoch <c>Epoch</c>'s sample order and flips (read by the prefetch workers too, so never changed).</summary>
    sealed record EpochPlan(long Epoch, long[] Order, bool[] Flips);

    readonly Func<int, bool, LabeledSample> load;
    readonly long seed;
    readonly bool shuffle;
    readonly bool randomFlip;
    readonly int workers;
    readonly BatchPrefetcher? prefetcher;
    readonly object planGate = new();
    EpochPlan? plan;

    /// <param name="count">Number of samples.</param>
    /// <param name="load">
    /// Sample i, flipped horizontally or not: a tensor the batcher takes ownership of, and its label. With
    /// <paramref name="prefetch"/> on it is called from several threads at once.
    /// </param>
    /// <param name="prefetch">Loading ahead on background threads; null is <see cref="BatchPrefetch.Off"/>.</param>
    public ShuffledBatches(int count, Func<int, bool, LabeledSample> load, int batchSize, long seed,
        bool shuffle = true, bool randomFlip = false, bool dropLast = true, BatchPrefetch? prefetch = null)
    {
        prefetch ??= BatchPrefetch.Off;
        prefetch.Check();
        if (batchSize < 1) throw new ArgumentException($"batch size must be positive, got {batchSize}");
        if (count < 1) throw new DatasetException("the dataset holds no samples");
        if (dropLast && count < batchSize)
            throw new DatasetException(
                $"the dataset holds {count} samples, fewer than one batch of {batchSize} (lower the batch size or add data)");
        Count = count;
        this.load = load;
        BatchSize = batchSize;
        this.seed = seed;
        this.shuffle = shuffle;
        this.randomFlip = randomFlip;
        BatchesPerEpoch = dropLast ? count / batchSize : (count + batchSize - 1) / batchSize;
        workers = prefetch.Workers;
        if (prefetch.IsOn) prefetcher = new BatchPrefetcher(Load, prefetch.Depth);
    }

    /// <summary>
    /// Batches of images (B, 3, S, S) in [0, 1], flipped at random when <paramref name="randomFlip"/>; decoded,
    /// cropped and flipped ahead on background threads when <paramref name="prefetch"/> is on (null is <see cref="BatchPrefetch.Off"/>).
    /// </summary>
    public static ShuffledBatches OfImages(IImageDataset dataset, int batchSize, long seed,
        bool shuffle = true, bool randomFlip = false, bool dropLast = true, BatchPrefetch? prefetch = null) =>
        new(dataset.Count, (index, flip) =>
        {
            var item = dataset.Get(index);
            if (!flip) return new LabeledSample(item.Image, item.Label);
            var flipped = item.Image.flip(-1);
            item.Image.Dispose();
            return new LabeledSample(flipped, item.Label);
        }, batchSize, seed, shuffle, randomFlip, dropLast, prefetch);

    public int Count { get; }
    public int BatchSize { get; }
    public int BatchesPerEpoch { get; }

    /// <summary>Batch <paramref name="index"/> of the endless sequence (epoch = index / BatchesPerEpoch). The caller disposes it.</summary>
    public LabeledBatch Batch(long index) => Batch(index, 0, BatchSize);

    /// <summary>
    /// Rows [<paramref name="firstRow"/>, <paramref name="endRow"/>) of batch <paramref name="index"/> (clamped to the
    /// batch), loading only those samples: a rank's slice of a global batch in data-parallel training. The caller
    /// disposes it.
    /// </summary>
    public LabeledBatch Batch(long index, int firstRow, int endRow)
    {
        if (index < 0) throw new ArgumentOutOfRangeException(nameof(index), $"batch index {index} is negative");
        if (firstRow < 0 || endRow < firstRow) throw new ArgumentOutOfRangeException(nameof(firstRow), $"rows [{firstRow}, {endRow}) are not a range");
        return prefetcher?.Take(index, firstRow, endRow) ?? Load(index, firstRow, endRow);
    }

    /// <summary>Loads rows [first, end) of batch <paramref name="index"/> on this thread (its samples on up to <c>workers</c> threads).</summary>
    LabeledBatch Load(long index, int firstRow, int endRow)
    {
        long epoch = index / BatchesPerEpoch;
        int position = (int)(index % BatchesPerEpoch);
        var (_, order, flips) = Plan(epoch);
        int batchStart = position * BatchSize, batchSize = Math.Min(BatchSize, Count - batchStart);
        int first = batchStart + Math.Min(firstRow, batchSize), size = Math.Min(endRow, batchSize) - Math.Min(firstRow, batchSize);
        using var scope = NewDisposeScope();
        var samples = new Tensor[size];
        var labels = new long[size];
        void LoadRow(int i)
        {
            var item = load((int)order[first + i], flips[first + i]);
            samples[i] = item.Sample;
            labels[i] = item.Label;
        }
        if (workers == 1 || size < 2)
            for (int i = 0; i < size; i++) LoadRow(i);
        else
            LoadInParallel(samples, LoadRow);
        // An empty slice (a rank without rows of a small global batch) still has the samples' shape.
        var stacked = (size > 0 ? torch.stack(samples) : torch.empty([0, .. load((int)order[batchStart], false).Sample.shape]))
            .MoveToOuterDisposeScope();
        var labelTensor = torch.tensor(labels, int64).MoveToOuterDisposeScope();
        if (workers > 1) foreach (var sample in samples) sample.Dispose(); // made on other threads, outside this scope
        return new LabeledBatch(stacked, labelTensor, index, epoch);
    }

    /// <summary>Rows on up to <c>workers</c> threads; the first failure is rethrown as it was thrown, after the others end.</summary>
    void LoadInParallel(Tensor[] samples, Action<int> loadRow)
    {
        try
        {
            Parallel.For(0, samples.Length, new ParallelOptions { MaxDegreeOfParallelism = workers }, loadRow);
        }
        catch (AggregateException e)
        {
            foreach (var sample in samples) sample?.Dispose();
            ExceptionDispatchInfo.Throw(e.InnerExceptions[0]);
        }
    }

    /// <summary>
    /// Batches <paramref name="start"/>, <paramref name="start"/>+1, ... (<paramref name="count"/> of them). Each
    /// batch is disposed when the next one is requested and when the enumeration ends: keep a clone to hold on.
    /// </summary>
    public IEnumerable<LabeledBatch> Batches(long start = 0, long count = long.MaxValue)
    {
        LabeledBatch? current = null;
        try
        {
            for (long i = 0; i < count; i++)
            {
                current?.Dispose();
                current = Batch(start + i);
                yield return current;
            }
        }
        finally
        {
            current?.Dispose();
        }
    }

    /// <summary>Sample indices of one epoch in batch order (for tests and inspection).</summary>
    public long[] EpochOrder(long epoch) => (long[])Plan(epoch).Order.Clone();

    EpochPlan Plan(long epoch)
    {
        lock (planGate)
        {
            if (plan?.Epoch == epoch) return plan;
            using var scope = NewDisposeScope();
            using var generator = new torch.Generator(SeedDerivation.Derive(seed, "batch-order", epoch), torch.CPU);
            var order = shuffle
                ? torch.randperm(Count, dtype: int64, generator: generator).data<long>().ToArray()
                : Enumerable.Range(0, Count).Select(i => (long)i).ToArray();
            var flips = randomFlip
                ? torch.rand(Count, generator: generator).lt(0.5).data<bool>().ToArray()
                : new bool[Count];
            return plan = new EpochPlan(epoch, order, flips);
        }
    }

    /// <summary>Stops the loading ahead: waits for the loads under way and disposes the batches nobody took.</summary>
    public void Dispose() => prefetcher?.Dispose();
}
