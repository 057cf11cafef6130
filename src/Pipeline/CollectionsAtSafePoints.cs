using System.Diagnostics;
using System.Runtime;

namespace RaePipeline.Pipeline;

/// <summary>
/// Keeps garbage collections to safe points of the thread that runs the jobs. TorchSharp 0.107 frees a temporary
/// <c>Scalar</c> (the 2 of <c>x * 2</c>, an optimizer's step size) from its finalizer and passes its handle to the
/// native call without keeping it alive, so a collection that starts while that call runs (one another thread's
/// allocation triggers) lets the finalizer thread free the Scalar under libtorch, which then fails in
/// <c>Scalar::toFloat</c>. Collections the job thread triggers itself happen at its own allocations, between
/// native calls, and are safe.
/// <para>
/// While enabled, the process stays in a no-GC region (<see cref="GC.TryStartNoGCRegion(long)"/>): no thread's
/// allocation starts a collection. At a safe point (<see cref="SafePoint"/>: every <see cref="ProgressBar"/> advance,
/// between native calls) of the enabling thread, once more than <see cref="RenewAfterBytes"/> were allocated since the
/// region started, or when the runtime has left the region (its budget ran out), the region is renewed: ended and
/// started again, which is one full blocking collection at that moment. The resident size is watched too: native
/// memory that only finalizers release does not count against the region's budget. A DiT^DH run grew by 12 MB a step,
/// 20 GB in 1,500 steps; measured: without TorchSharp's AdamW step it did not grow, after a collection it stopped (the
/// step's tensors are all disposed; what it leaves to finalizers are its temporary Scalars). A safe point renews once
/// the resident size has grown by <see cref="RenewAfterResidentGrowthBytes"/> since the last renewal (reading it costs
/// about 40 us, per progress advance). Background work that runs torch calls
/// (data prefetch) enters <see cref="EnterBackgroundTorchWork"/>, and a renewal waits until none is inside.
/// </para>
/// What is not covered: a thread other than the job thread that allocates the rest of the budget between two safe
/// points (more than <see cref="BudgetBytes"/> - <see cref="RenewAfterBytes"/>) ends the region with a collection
/// of its own; a job thread that allocates it does so at its own allocation, which is safe.
/// </summary>
public static class CollectionsAtSafePoints
{
    /// <summary>The environment variable that switches the mechanism off for <c>rae</c> (<c>0</c>, <c>false</c> or <c>off</c>).</summary>
    public const string EnvironmentVariable = "RAE_GC_SAFE_POINTS";

    /// <summary>
    /// The managed heap may grow by this much between renewals. The runtime here starts regions of up to 8 GB (16 GB
    /// is refused: benchmarks/ScalarFinalizerRace); this keeps the growth of the resident size small.
    /// </summary>
    public const long DefaultBudgetBytes = 192L << 20;

    /// <summary>Renew once this much was allocated since the region started: the rest of the budget is headroom for the allocations until the next safe point.</summary>
    public const long DefaultRenewAfterBytes = 64L << 20;

    /// <summary>Renew once the resident size grew by this much since the last renewal (a collection runs the finalizers that free native memory).</summary>
    public const long DefaultRenewAfterResidentGrowthBytes = 512L << 20;

    static readonly object gate = new();
    static readonly ReaderWriterLockSlim backgroundWork = new(LockRecursionPolicy.SupportsRecursion);
    static int ownerThread;            // 0: not enabled
    static long allocatedAtStart;
    static long residentAtStart;
    static long residentRenewals;
    static int collectionsAtStart;
    static bool regionStarted;
    static long renewals;
    static long regionsEndedEarly;
    static long renewalTicks;

    public static bool IsEnabled => Volatile.Read(ref ownerThread) != 0;

    /// <summary>Bytes the region may allocate (the argument of the last <see cref="GC.TryStartNoGCRegion(long)"/>).</summary>
    public static long BudgetBytes { get; private set; }

    public static long RenewAfterBytes { get; private set; }

    public static long RenewAfterResidentGrowthBytes { get; private set; }

    /// <summary>Renewals made because the resident size grew (native memory waiting for finalizers), since the process started.</summary>
    public static long ResidentRenewals => Interlocked.Read(ref residentRenewals);

    /// <summary>Collections made at safe points since the process started.</summary>
    public static long Renewals => Interlocked.Read(ref renewals);

    /// <summary>Time spent in renewals (their collections) since the process started.</summary>
    public static TimeSpan RenewalTime => TimeSpan.FromTicks(Interlocked.Read(ref renewalTicks));

    /// <summary>Regions that ended before their renewal with a collection elsewhere (their budget ran out), found at a safe point.</summary>
    public static long RegionsEndedEarly => Interlocked.Read(ref regionsEndedEarly);

    /// <summary>Whether the process is in the no-GC region now.</summary>
    public static bool InRegion => GCSettings.LatencyMode == GCLatencyMode.NoGCRegion;

    /// <summary>
    /// Enables the mechanism unless <see cref="EnvironmentVariable"/> says <c>0</c>/<c>false</c>/<c>off</c>; the
    /// calling thread's safe points renew. Dispose the result to leave the region. Null when switched off.
    /// </summary>
    public static IDisposable? EnableUnlessSwitchedOff() =>
        Environment.GetEnvironmentVariable(EnvironmentVariable)?.Trim().ToLowerInvariant() is "0" or "false" or "off"
            ? null
            : Enable();

    /// <summary>
    /// Starts the no-GC region for the calling thread's safe points. A budget larger than the runtime accepts is
    /// halved until it is accepted. Dispose the result (on any thread) to end the region and the mechanism.
    /// </summary>
    public static IDisposable Enable(long budgetBytes = DefaultBudgetBytes, long renewAfterBytes = DefaultRenewAfterBytes,
        long renewAfterResidentGrowthBytes = DefaultRenewAfterResidentGrowthBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(budgetBytes, 1L << 20);
        ArgumentOutOfRangeException.ThrowIfNegative(renewAfterBytes);
        ArgumentOutOfRangeException.ThrowIfLessThan(renewAfterResidentGrowthBytes, 1L << 20);
        lock (gate)
        {
            if (ownerThread != 0)
                throw new InvalidOperationException($"collections at safe points are already enabled by thread {ownerThread}");
            EndRegion();
            while (true)
            {
                try
                {
                    regionStarted = GC.TryStartNoGCRegion(budgetBytes);
                    break;
                }
                catch (ArgumentOutOfRangeException) when (budgetBytes > 2L << 20)
                {
                    budgetBytes /= 2; // more than the runtime's ephemeral space allows
                }
            }
            BudgetBytes = budgetBytes;
            RenewAfterBytes = Math.Min(renewAfterBytes, budgetBytes / 2);
            RenewAfterResidentGrowthBytes = renewAfterResidentGrowthBytes;
            MarkStart();
            Volatile.Write(ref ownerThread, Environment.CurrentManagedThreadId);
            return new Enabled();
        }
    }

    /// <summary>
    /// A point of the job thread between native calls (no TorchSharp call of this thread is under way): renews the
    /// region if it is due. Calls from any other thread, or while not enabled, do nothing.
    /// </summary>
    public static void SafePoint()
    {
        if (Volatile.Read(ref ownerThread) != Environment.CurrentManagedThreadId) return;
        lock (gate)
        {
            if (ownerThread != Environment.CurrentManagedThreadId) return;
            long allocated = GC.GetTotalAllocatedBytes() - allocatedAtStart;
            // Any collection ends the region: the budget ran out, or something induced one.
            bool leftRegion = regionStarted && (GC.CollectionCount(0) != collectionsAtStart || !InRegion);
            bool residentGrew = Environment.WorkingSet - residentAtStart >= RenewAfterResidentGrowthBytes;
            if (!leftRegion && allocated < RenewAfterBytes && !residentGrew) return;
            // Background torch work in flight: its native calls must not see a collection. Wait for it only when the
            // headroom is half spent; until then try again at the next safe point.
            bool urgent = leftRegion || allocated >= RenewAfterBytes + (BudgetBytes - RenewAfterBytes) / 2;
            if (!backgroundWork.TryEnterWriteLock(urgent ? Timeout.Infinite : 0)) return;
            try
            {
                if (leftRegion) Interlocked.Increment(ref regionsEndedEarly);
                else if (residentGrew && allocated < RenewAfterBytes) Interlocked.Increment(ref residentRenewals);
                long started = Stopwatch.GetTimestamp();
                EndRegion();
                // The collection that starting a region makes leaves the finalizers it queues unrun (measured: undisposed
                // tensors stayed resident), so collect and finalize first: their native memory is freed now.
                GC.Collect();
                GC.WaitForPendingFinalizers();
                regionStarted = GC.TryStartNoGCRegion(BudgetBytes);
                MarkStart();
                Interlocked.Add(ref renewalTicks, Stopwatch.GetElapsedTime(started).Ticks);
                Interlocked.Increment(ref renewals);
            }
            finally
            {
                backgroundWork.ExitWriteLock();
            }
        }
    }

    /// <summary>
    /// Marks torch work on a background thread (a prefetch worker): no renewal starts until it is disposed. Null
    /// when not enabled.
    /// </summary>
    public static IDisposable? EnterBackgroundTorchWork()
    {
        if (!IsEnabled || Volatile.Read(ref ownerThread) == Environment.CurrentManagedThreadId) return null;
        backgroundWork.EnterReadLock();
        return new BackgroundWork();
    }

    static void MarkStart()
    {
        allocatedAtStart = GC.GetTotalAllocatedBytes();
        collectionsAtStart = GC.CollectionCount(0);
        residentAtStart = Environment.WorkingSet;
    }

    /// <summary>Ends the region if the runtime still holds one (it may have left it already, then this throws and is ignored).</summary>
    static void EndRegion()
    {
        try
        {
            GC.EndNoGCRegion();
        }
        catch (InvalidOperationException)
        {
            // No region, or it already ended (its budget was exceeded or a collection was induced): nothing to end.
        }
    }

    sealed class Enabled : IDisposable
    {
        int disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref disposed, 1) != 0) return;
            lock (gate)
            {
                backgroundWork.EnterWriteLock();
                try
                {
                    EndRegion();
                    regionStarted = false;
                    Volatile.Write(ref ownerThread, 0);
                }
                finally
                {
                    backgroundWork.ExitWriteLock();
                }
            }
        }
    }

    sealed class BackgroundWork : IDisposable
    {
        int disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref disposed, 1) == 0) backgroundWork.ExitReadLock();
        }
    }
}
