using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Runtime.InteropServices;

namespace RaePipeline.Distributed;

/// <summary>
/// Collectives over Open MPI's <c>MPI_COMM_WORLD</c>. Errors are returned (<c>MPI_ERRORS_RETURN</c>) and become
/// <see cref="DistributedException"/>s. Every collective starts with an agreement: a small non-blocking all-reduce
/// of what each rank is about to do (operation, bytes, root or type), polled until every rank has arrived. So a rank
/// gives up after <see cref="Communicator.Timeout"/> instead of hanging; while it waits it answers the other ranks'
/// "where are you?" queries, and a rank that times out asks every other rank which collective it is in and names
/// those that did not answer (busy outside any collective, or hung); and ranks that call different collectives
/// (the classic deadlock of distributed code) fail with a message instead of mixing their data. The data then moves
/// with non-blocking collectives polled the same way, yielding the core between polls: on a machine shared with
/// other work, Open MPI's blocking calls spin and were measured 1000 times slower for small messages. After a
/// failure the group is broken (messages may be in flight): the caller ends the run (<see cref="Abort"/>).
/// </summary>
internal sealed unsafe class MpiCommunicator : Communicator
{
    const int QueryTag = 0x5AE0, ReplyTag = 0x5AE1, DataTag = 0x5AE2;
    const long ChunkBytes = 1L << 30; // MPI counts are int: no single message is larger than 1 GiB

    readonly OpenMpiLibrary mpi;
    readonly nint world;
    readonly int rank, size;
    readonly bool ownsInitialization;
    readonly List<(nint Request, nint Buffer)> pendingReplies = [];
    readonly object gate = new();
    long sequence;                       // collectives started on this rank
    Operation operation = Operation.None; // the one in progress (answers queries)
    long operationBytes;
    string? broken;
    bool finalized;

    enum Operation { None, AllReduce, Broadcast, Gather, Barrier }

    public MpiCommunicator(OpenMpiLibrary mpi, TimeSpan timeout)
    {
        this.mpi = mpi;
        world = mpi.CommWorld;
        Timeout = timeout;
        int initialized = 0;
        mpi.Initialized(&initialized);
        if (initialized == 0)
        {
            int provided = 0;
            int code = mpi.InitThread(null, null, OpenMpiLibrary.ThreadSerialized, &provided);
            if (code != OpenMpiLibrary.Success)
                throw new DistributedException($"MPI_Init_thread failed ({mpi.Path}): {mpi.ErrorText(code)}");
            ownsInitialization = true;
        }
        int r = 0, s = 0;
        Check(mpi.CommSetErrhandler(world, mpi.ErrorsReturn), "setting MPI_ERRORS_RETURN");
        Check(mpi.CommRank(world, &r), "MPI_Comm_rank");
        Check(mpi.CommSize(world, &s), "MPI_Comm_size");
        rank = r;
        size = s;
        var name = mpi.ProcessorName();
        HostName = string.IsNullOrWhiteSpace(name) ? Environment.MachineName : name;
        Description = $"{mpi.LibraryVersion()} ({mpi.Path})";
        // A run that ends normally finalizes MPI; one that fails aborts it (the host's FailAll) before getting here.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Dispose();
    }

    public override int Rank => rank;

    public override int Size => size;

    public override string Description { get; }

    public override string HostName { get; }

    public override void AllReduce(void* buffer, long count, ElementType type, ReduceOp op)
    {
        lock (gate)
        {
            Agree(Operation.AllReduce, count * type.Size(), (long)type * 16 + (long)op, Timeout);
            nint mpiType = mpi.TypeOf(type), mpiOp = mpi.OpOf(op);
            long chunk = ChunkBytes / type.Size();
            for (long start = 0; start < count; start += chunk)
            {
                nint request;
                Check(mpi.Iallreduce(OpenMpiLibrary.InPlace, (byte*)buffer + start * type.Size(), (int)Math.Min(chunk, count - start),
                    mpiType, mpiOp, world, &request));
                Wait([request], Timeout);
            }
            operation = Operation.None;
        }
    }

    public override void Broadcast(void* buffer, long bytes, int root)
    {
        lock (gate)
        {
            CheckRoot(root);
            Agree(Operation.Broadcast, bytes, root, Timeout);
            for (long start = 0; start < bytes; start += ChunkBytes)
            {
                nint request;
                Check(mpi.Ibcast((byte*)buffer + start, (int)Math.Min(ChunkBytes, bytes - start), mpi.Byte, root, world, &request));
                Wait([request], Timeout);
            }
            operation = Operation.None;
        }
    }

    public override void Gather(void* send, IReadOnlyList<long> lengths, IReadOnlyList<nint>? receive, int root)
    {
        lock (gate)
        {
            CheckRoot(root);
            if (lengths.Count != size) throw new ArgumentException($"gather needs {size} lengths (one per rank), got {lengths.Count}");
            if (rank == root && receive?.Count != size) throw new ArgumentException($"the root of a gather needs {size} receive addresses");
            Agree(Operation.Gather, lengths.Sum(), root, Timeout);
            var requests = new List<nint>();
            if (rank == root)
                for (int source = 0; source < size; source++)
                {
                    var target = (byte*)receive![source];
                    if (source == rank && lengths[source] > 0) Buffer.MemoryCopy(send, target, lengths[source], lengths[source]);
                    else if (source != rank)
                        for (long start = 0; start < lengths[source]; start += ChunkBytes)
                        {
                            nint request;
                            Check(mpi.Irecv(target + start, (int)Math.Min(ChunkBytes, lengths[source] - start), mpi.Byte, source, DataTag, world, &request));
                            requests.Add(request);
                        }
                }
            else
                for (long start = 0; start < lengths[rank]; start += ChunkBytes)
                {
                    nint request;
                    Check(mpi.Isend((byte*)send + start, (int)Math.Min(ChunkBytes, lengths[rank] - start), mpi.Byte, root, DataTag, world, &request));
                    requests.Add(request);
                }
            Wait(CollectionsMarshal.AsSpan(requests), Timeout);
            operation = Operation.None;
        }
    }

    public override void Barrier(TimeSpan? timeout = null)
    {
        lock (gate)
        {
            Agree(Operation.Barrier, 0, 0, timeout ?? Timeout);
            operation = Operation.None;
        }
    }

    [DoesNotReturn]
    public override void Abort(string message, int exitCode)
    {
        Console.Error.WriteLine(message);
        Console.Error.Flush();
        // Open MPI ends every process of the job, this one included; mpirun then exits with a non-zero code.
        mpi.AbortWorld(world, exitCode == 0 ? 1 : exitCode);
        Environment.Exit(exitCode == 0 ? 1 : exitCode);
        throw new InvalidOperationException("unreachable");
    }

    /// <summary>Waits for the other ranks (so none finalizes while another still sends), then finalizes MPI.</summary>
    public override void Dispose()
    {
        lock (gate)
        {
            if (finalized || !ownsInitialization) return;
            if (broken == null)
            {
                try
                {
                    Barrier();
                }
                catch (DistributedException e)
                {
                    Abort($"rae: rank {rank} of {size}: at exit: {e.Message}", 1);
                }
            }
            else Abort($"rae: rank {rank} of {size}: ending after an earlier failure: {broken}", 1);
            mpi.FinalizeLibrary();
            finalized = true;
            foreach (var (_, buffer) in pendingReplies) NativeMemory.Free((void*)buffer);
            pendingReplies.Clear();
        }
        base.Dispose();
    }

    /// <summary>
    /// Waits (at most <paramref name="timeout"/>) until every rank has called a collective, and checks that they all
    /// called this one: a non-blocking all-reduce (max) of (operation, bytes, detail) and their negatives, so the
    /// maximum and the minimum over the ranks both come back. Ranks that disagree all throw.
    /// </summary>
    void Agree(Operation kind, long bytes, long detail, TimeSpan timeout)
    {
        if (finalized) throw new DistributedException($"rank {rank}: {Name(kind)} after MPI was finalized");
        if (broken != null) throw new DistributedException($"rank {rank}: {Name(kind)} on a process group that failed earlier: {broken}");
        sequence++;
        operation = kind;
        operationBytes = bytes;
        long* call = stackalloc long[6] { (long)kind, bytes, detail, -(long)kind, -bytes, -detail };
        nint request;
        Check(mpi.Iallreduce(OpenMpiLibrary.InPlace, call, 6, mpi.TypeOf(ElementType.Int64), mpi.MaxOp, world, &request));
        Wait([request], timeout);
        if (call[0] == (long)kind && call[1] == bytes && call[2] == detail && -call[3] == (long)kind && -call[4] == bytes && -call[5] == detail)
            return;
        bool highestDiffers = call[0] != (long)kind || call[1] != bytes || call[2] != detail;
        var other = highestDiffers ? Describe((Operation)call[0], call[1], sequence) : Describe((Operation)(-call[3]), -call[4], sequence);
        var message = $"the ranks called different collectives: rank {rank} is in {Describe(kind, bytes, sequence)}, another rank in {other} " +
                      "(every rank must call the same collectives in the same order with the same sizes)";
        broken = message;
        throw new DistributedException(message);
    }

    void CheckRoot(int root)
    {
        if (root < 0 || root >= size) throw new ArgumentOutOfRangeException(nameof(root), root, $"the run has ranks 0..{size - 1}");
    }

    void Check(int code, string? what = null)
    {
        if (code == OpenMpiLibrary.Success) return;
        var message = $"rank {rank}: {what ?? Describe(operation, operationBytes, sequence)} failed: {mpi.ErrorText(code)} (MPI error {code})";
        broken ??= message;
        throw new DistributedException(message);
    }

    /// <summary>Polls <paramref name="requests"/> until all completed, answering queries meanwhile; throws after <paramref name="timeout"/>.</summary>
    void Wait(Span<nint> requests, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        var done = new bool[requests.Length];
        int remaining = requests.Length;
        fixed (nint* handles = requests)
            while (true)
            {
                for (int i = 0; i < requests.Length; i++)
                {
                    if (done[i]) continue;
                    int flag = 0;
                    Check(mpi.Test(&handles[i], &flag, null));
                    if (flag != 0)
                    {
                        done[i] = true;
                        remaining--;
                    }
                }
                if (remaining == 0) return;
                AnswerQueries();
                if (clock.Elapsed > timeout) throw TimedOut(clock.Elapsed, timeout);
                // Spin (yielding the core to anyone who wants it) while transfers are likely under way, then poll
                // each millisecond: a rank that waits long waits for another rank's computation.
                if (clock.ElapsedMilliseconds < 1000) Thread.Yield();
                else Thread.Sleep(1);
            }
    }

    /// <summary>Answers every pending "where are you?" query with (collective number, operation, bytes).</summary>
    void AnswerQueries()
    {
        for (int i = pendingReplies.Count - 1; i >= 0; i--)
        {
            var (request, buffer) = pendingReplies[i];
            int flag = 0;
            mpi.Test(&request, &flag, null);
            if (flag == 0) continue;
            NativeMemory.Free((void*)buffer);
            pendingReplies.RemoveAt(i);
        }
        var int64 = mpi.TypeOf(ElementType.Int64);
        for (int peer = 0; peer < size; peer++)
        {
            if (peer == rank) continue;
            int waiting = 0;
            if (mpi.Iprobe(peer, QueryTag, world, &waiting, null) != OpenMpiLibrary.Success || waiting == 0) continue;
            long asked = 0;
            nint receive;
            if (mpi.Irecv(&asked, 1, int64, peer, QueryTag, world, &receive) != OpenMpiLibrary.Success) continue;
            for (int arrived = 0; arrived == 0;) // the probed message is there: this ends at once
                if (mpi.Test(&receive, &arrived, null) != OpenMpiLibrary.Success) return;
            var reply = (long*)NativeMemory.Alloc(3 * sizeof(long));
            reply[0] = sequence;
            reply[1] = (long)operation;
            reply[2] = operationBytes;
            nint send;
            if (mpi.Isend(reply, 3, int64, peer, ReplyTag, world, &send) == OpenMpiLibrary.Success) pendingReplies.Add((send, (nint)reply));
            else NativeMemory.Free(reply);
        }
    }

    /// <summary>Asks every other rank where it is (for a short grace period) and builds the message naming the late ones.</summary>
    CollectiveTimeoutException TimedOut(TimeSpan waited, TimeSpan timeout)
    {
        var int64 = mpi.TypeOf(ElementType.Int64);
        // Replies may still arrive after this method returns, so these buffers are never freed: the run ends now.
        var answers = (long*)NativeMemory.AllocZeroed((nuint)(size * 3 * sizeof(long)));
        var query = (long*)NativeMemory.Alloc(sizeof(long));
        *query = sequence;
        var replies = new nint[size];
        var answered = new bool[size];
        for (int peer = 0; peer < size; peer++)
        {
            if (peer == rank) continue;
            nint send;
            fixed (nint* reply = &replies[peer])
                answered[peer] = mpi.Irecv(answers + 3 * peer, 3, int64, peer, ReplyTag, world, reply) != OpenMpiLibrary.Success;
            mpi.Isend(query, 1, int64, peer, QueryTag, world, &send);
        }
        var grace = TimeSpan.FromSeconds(Math.Clamp(timeout.TotalSeconds / 4, 1, 10));
        var clock = Stopwatch.StartNew();
        var heard = new bool[size];
        while (clock.Elapsed < grace && Enumerable.Range(0, size).Any(p => p != rank && !answered[p]))
        {
            for (int peer = 0; peer < size; peer++)
            {
                if (peer == rank || answered[peer]) continue;
                int flag = 0;
                fixed (nint* reply = &replies[peer])
                    if (mpi.Test(reply, &flag, null) == OpenMpiLibrary.Success && flag != 0)
                        answered[peer] = heard[peer] = true;
            }
            AnswerQueries();
            Thread.Sleep(1);
        }
        var here = Describe(operation, operationBytes, sequence);
        var others = Enumerable.Range(0, size).Where(p => p != rank).Select(peer =>
        {
            if (!heard[peer]) return $"rank {peer} did not answer (busy outside any collective, or hung: see its output)";
            long theirs = answers[3 * peer];
            var what = Describe((Operation)answers[3 * peer + 1], answers[3 * peer + 2], theirs);
            return theirs == sequence ? $"rank {peer} waits in the same {what}" : $"rank {peer} waits in {what}";
        });
        var message = string.Create(CultureInfo.InvariantCulture,
            $"{here} timed out on rank {rank} after waiting {waited.TotalSeconds:F0} s for the other ranks " +
            $"(RAE_DIST_TIMEOUT {timeout.TotalSeconds:F0} s): {string.Join("; ", others)}");
        broken = message;
        return new CollectiveTimeoutException(message);
    }

    static string Describe(Operation kind, long bytes, long number) => kind == Operation.None
        ? $"no collective (after collective #{number})"
        : string.Create(CultureInfo.InvariantCulture, $"{Name(kind)} #{number} ({CollectiveTraffic.FormatBytes(bytes)})");

    static string Name(Operation kind) => kind switch
    {
        Operation.AllReduce => "all-reduce",
        Operation.Broadcast => "broadcast",
        Operation.Gather => "gather",
        Operation.Barrier => "barrier",
        _ => "no collective",
    };
}
