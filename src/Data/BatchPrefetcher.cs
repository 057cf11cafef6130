using RaePipeline.Pipeline;
using static TorchSharp.torch;

namespace RaePipeline.Data;

/// <summary>
/// The background half of <see cref="ShuffledBatches"/>' prefetch: when batch i is taken, batches i+1 .. i+depth are
/// queued for loading, one after the other on the thread pool, and a later <see cref="Take"/> of one of them waits
/// for it instead of loading it. Batches outside that window (after a jump, e.g. a resumed run or a sample grid's
/// batch 0) are dropped and disposed. A worker's exception is rethrown, unchanged, by the <see cref="Take"/> of its
/// batch, so the loading error (naming the file) reaches the caller exactly where loading without prefetch would
/// have thrown it.
/// </summary>
sealed class BatchPrefetcher(Func<long, int, int, LabeledBatch> load, int depth) : IDisposable
{
    sealed class Pending(long index)
    {
        public long Index { get; } = index;
        public volatile bool Dropped;
        public Task<LabeledBatch?> Load = Task.FromResult<LabeledBatch?>(null);
    }

    readonly object gate = new();
    readonly Dictionary<long, Pending> pending = [];
    (int First, int End) rows;
    Task tail = Task.CompletedTask;
    bool disposed;

    /// <summary>Rows [first, end) of batch <paramref name="index"/>, in the caller's dispose scope; queues the next ones.</summary>
    public LabeledBatch Take(long index, int firstRow, int endRow)
    {
        Pending? ready;
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            if (rows != (firstRow, endRow))
            {
                foreach (var other in pending.Values) Drop(other);
                pending.Clear();
                rows = (firstRow, endRow);
            }
            pending.Remove(index, out ready);
            foreach (var stale in pending.Values.Where(p => p.Index <= index || p.Index > index + depth).ToList())
            {
                Drop(stale);
                pending.Remove(stale.Index);
            }
            for (long next = index + 1; next <= index + depth; next++)
                if (!pending.ContainsKey(next)) pending[next] = Queue(next, firstRow, endRow);
        }
        if (ready is null) return load(index, firstRow, endRow);
        var batch = ready.Load.GetAwaiter().GetResult()!; // a worker's exception is rethrown here as it was thrown
        // Handles of the caller's thread, so the batch belongs to the caller's dispose scope as a batch loaded here would.
        var adopted = new LabeledBatch(batch.Samples.alias(), batch.Labels.alias(), batch.Index, batch.Epoch);
        batch.Dispose();
        return adopted;
    }

    Pending Queue(long index, int firstRow, int endRow)
    {
        var entry = new Pending(index);
        entry.Load = tail.ContinueWith(_ => entry.Dropped ? null : LoadBesideTheJob(index, firstRow, endRow),
            CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        tail = entry.Load;
        return entry;
    }

    /// <summary>A load on a worker: its torch calls hold off the job thread's collections at safe points until it ends.</summary>
    LabeledBatch LoadBesideTheJob(long index, int firstRow, int endRow)
    {
        using var torchWork = CollectionsAtSafePoints.EnterBackgroundTorchWork();
        return load(index, firstRow, endRow);
    }

        static void Drop(Pending entry)
    {
        entry.Dropped = true;
        entry.Load.ContinueWith(DisposeResult, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    static void DisposeResult(Task<LabeledBatch?> load)
    {
        if (load.IsCompletedSuccessfully) load.Result?.Dispose();
        else _ = load.Exception; // observed: a dropped batch's error is nobody's to report
    }

    /// <summary>Waits for the loads under way (so nothing reads the data afterwards) and disposes what they loaded.</summary>
    public void Dispose()
    {
        List<Pending> left;
        lock (gate)
        {
            if (disposed) return;
            disposed = true;
            left = [.. pending.Values];
            pending.Clear();
        }
        foreach (var entry in left) entry.Dropped = true;
        try
        {
            tail.Wait();
        }
        catch (AggregateException)
        {
            // the last queued batch failed; its error belongs to nobody now
        }
        foreach (var entry in left) DisposeResult(entry.Load);
    }
}
