using System.Diagnostics.CodeAnalysis;

namespace RaePipeline.Distributed;

/// <summary>A run of one process: collectives leave the data as it is (a gather copies it); needs no MPI.</summary>
public sealed class SingleProcessCommunicator : Communicator
{
    public override int Rank => 0;

    public override int Size => 1;

    public override string Description => "single process";

    public override unsafe void AllReduce(void* buffer, long count, ElementType type, ReduceOp op) { }

    public override unsafe void Broadcast(void* buffer, long bytes, int root) => CheckRoot(root);

    public override unsafe void Gather(void* send, IReadOnlyList<long> lengths, IReadOnlyList<nint>? receive, int root)
    {
        CheckRoot(root);
        if (lengths.Count != 1 || receive is not { Count: 1 })
            throw new ArgumentException("a single process gathers one buffer (one length, one receive address)");
        if (lengths[0] > 0) Buffer.MemoryCopy(send, (void*)receive[0], lengths[0], lengths[0]);
    }

    public override void Barrier(TimeSpan? timeout = null) { }

    [DoesNotReturn]
    public override void Abort(string message, int exitCode)
    {
        Console.Error.WriteLine(message);
        Console.Error.Flush();
        Environment.Exit(exitCode);
        throw new InvalidOperationException("unreachable");
    }

    static void CheckRoot(int root)
    {
        if (root != 0) throw new ArgumentOutOfRangeException(nameof(root), root, "a single process has only rank 0");
    }
}
