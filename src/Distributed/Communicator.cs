using System.Diagnostics.CodeAnalysis;

namespace RaePipeline.Distributed;

/// <summary>
/// The transport under a <see cref="ProcessGroup"/>: collectives on host-memory buffers between the processes of
/// a run (a backend: one process, OpenMPI, ...). Every rank calls the same collectives in the same order with
/// matching sizes. A collective that does not complete within <see cref="Timeout"/> throws
/// <see cref="CollectiveTimeoutException"/> naming the ranks that did not join; transport errors throw
/// <see cref="DistributedException"/>: nothing here ends the process except <see cref="Abort"/>.
/// </summary>
public abstract class Communicator : IDisposable
{
    public abstract int Rank { get; }

    public abstract int Size { get; }

    /// <summary>What carries the data, for logs: <c>single process</c>, <c>Open MPI v4.1.4</c>.</summary>
    public abstract string Description { get; }

    /// <summary>This process's host as the transport names it.</summary>
    public virtual string HostName => Environment.MachineName;

    /// <summary>How long a rank waits in a collective for the others before it gives up.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>In place: every rank's <paramref name="count"/> elements at <paramref name="buffer"/> become their element-wise combination (<paramref name="op"/> is Sum, Max or Min).</summary>
    public abstract unsafe void AllReduce(void* buffer, long count, ElementType type, ReduceOp op);

    /// <summary>In place: every rank's <paramref name="bytes"/> bytes at <paramref name="buffer"/> become <paramref name="root"/>'s.</summary>
    public abstract unsafe void Broadcast(void* buffer, long bytes, int root);

    /// <summary>
    /// Every rank's <c>lengths[rank]</c> bytes at <paramref name="send"/> arrive at <paramref name="root"/>, rank r's
    /// at <c>receive[r]</c> (<paramref name="receive"/> is null on the other ranks). Every rank passes the same
    /// <paramref name="lengths"/>.
    /// </summary>
    public abstract unsafe void Gather(void* send, IReadOnlyList<long> lengths, IReadOnlyList<nint>? receive, int root);

    /// <summary>Returns when every rank has called it; waits at most <paramref name="timeout"/> (default <see cref="Timeout"/>).</summary>
    public abstract void Barrier(TimeSpan? timeout = null);

    /// <summary>Prints <paramref name="message"/> on standard error and ends every process of the run, this one included.</summary>
    [DoesNotReturn]
    public abstract void Abort(string message, int exitCode);

    public virtual void Dispose() => GC.SuppressFinalize(this);
}
