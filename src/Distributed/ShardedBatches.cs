using Microsoft.Extensions.Logging;
using RaePipeline.Weights;
using static TorchSharp.torch;

namespace RaePipeline.Distributed;

/// <summary>
/// The batch loop of a job that runs as one process, as ranks under MPI or as shards of an array job (<c>encode</c>,
/// <c>reconstruct</c>, <c>eval</c>'s features): its items cut into batches as <see cref="ShardPlan"/> cuts them, this
/// process's batches (its shard, its rank's part of it) computed unless their chunk is already in the store, each
/// written there at once. Once every process is done, the one result is joined from the chunks in batch order
/// (by the whole run, or by a later merge of an array job's shards), so it does not depend on who computed which batch.
/// </summary>
public sealed class ShardedBatches
{
    readonly List<(int Batch, int Start, int End)> pending;
    readonly ProcessGroup group;

    public ShardedBatches(ChunkStore store, ShardSelection selection, ProcessGroup group, int items, int batchSize,
        Func<NpzArchive, bool>? check = null)
    {
        Store = store;
        Selection = selection;
        this.group = group;
        All = ShardPlan.For(ShardSelection.Whole, items, batchSize);
        Mine = ShardPlan.For(selection.ForRank(group), items, batchSize);
        pending = Mine.BatchRanges().Select(r => (Batch: r.Start / batchSize, r.Start, r.End))
            .Where(b => !store.IsFinished(b.Batch, b.Start, b.End, check)).ToList();
    }

    public ChunkStore Store { get; }

    public ShardSelection Selection { get; }

    /// <summary>Every batch of the run.</summary>
    public ShardPlan All { get; }

    /// <summary>This process's batches.</summary>
    public ShardPlan Mine { get; }

    /// <summary>Items of this process's batches whose chunks were already on disk (a resumed shard).</summary>
    public int ReusedItems => Mine.ItemCount - pending.Sum(b => b.End - b.Start);

    public int ReusedBatches => Mine.EndBatch - Mine.FirstBatch - pending.Count;

    /// <summary>
    /// Computes the batches still missing under no_grad (logging what a resumed run keeps), then waits for every rank:
    /// <paramref name="compute"/>(start, end) gives the arrays of items [start, end) (in a dispose scope that ends after
    /// the chunk is written); <paramref name="advance"/> hears of each batch's items.
    /// </summary>
    public void Run(Func<int, int, IEnumerable<KeyValuePair<string, Tensor>>> compute, Action<long> advance, ILogger log, CancellationToken cancellation)
    {
        if (ReusedBatches > 0)
            log.LogInformation("resuming: {Batches} batches ({Images} images) already in {Folder} are kept", ReusedBatches, ReusedItems, Store.Folder);
        using (no_grad())
            foreach (var (batch, start, end) in pending)
            {
                cancellation.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                Store.WriteBatch(batch, start, end, compute(start, end).ToList());
                advance(end - start);
            }
        pending.Clear();
        group.Barrier();
    }

    /// <summary>Every batch number of the run, in order.</summary>
    public IEnumerable<int> Batches => Enumerable.Range(0, All.Batches);

    /// <summary>Throws unless every batch of the run is on disk: the message names the folder, the missing batches and <paramref name="hint"/>.</summary>
    public void RequireAll(string hint) => Store.RequireFinished(All, hint);
}
