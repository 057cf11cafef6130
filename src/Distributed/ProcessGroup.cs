using System.Diagnostics;
using System.Globalization;
using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Distributed;

/// <summary>
/// The processes of a run as a job sees them: this process's <see cref="Rank"/> among <see cref="WorldSize"/>, its
/// <see cref="LocalRank"/> among the ranks on its host, every rank's host, and collectives on tensors (all-reduce,
/// broadcast, gather, all-gather, barrier) with the semantics of <c>torch.distributed</c>: every rank calls the same
/// collectives in the same order. A single process (<see cref="Single"/>, the default without MPI) makes them all
/// no-ops. CPU tensors travel through the <see cref="Communicator"/> (Open MPI under <c>mpirun</c>/<c>srun</c>); CUDA
/// tensors through NCCL when <see cref="UseDevice"/> found it, otherwise staged through host memory. Tensors of a
/// type the transport cannot reduce (bfloat16, float16) are reduced in float32. A collective that waits longer than
/// <see cref="Timeout"/> throws, naming the ranks that did not join; <see cref="FailAll"/> then ends every rank.
/// </summary>
public sealed class ProcessGroup : IDisposable
{
    const int MaxDimensions = 8;
    static readonly Lazy<ProcessGroup> world = new(() => Start(LaunchEnvironment.Current));
    readonly Communicator communicator;
    NcclCollectives? nccl;

    /// <summary>A group over <paramref name="communicator"/>; with several ranks this is collective (it exchanges host names).</summary>
    public ProcessGroup(Communicator communicator)
    {
        this.communicator = communicator;
        Hosts = communicator.Size == 1 ? [communicator.HostName] : AllGatherStrings(communicator.HostName);
        LocalRank = Enumerable.Range(0, Rank).Count(r => Hosts[r] == HostName);
        LocalSize = Hosts.Count(h => h == HostName);
    }

    /// <summary>A run of one process (no MPI): every collective leaves its tensor as it is.</summary>
    public static ProcessGroup Single { get; } = new(new SingleProcessCommunicator());

    /// <summary>This process's group, started from its environment on first use (<see cref="Start"/>); <see cref="Single"/> without an MPI launcher.</summary>
    public static ProcessGroup World => world.Value;

    /// <summary>
    /// The group <paramref name="launch"/> describes: <see cref="Single"/>, or Open MPI's world when the process was
    /// launched as one of several ranks. Throws when MPI's view disagrees with the launcher's (an <c>srun</c> without
    /// MPI support gives every task a world of its own).
    /// </summary>
    public static ProcessGroup Start(LaunchEnvironment launch)
    {
        if (!launch.UsesMpi) return Single;
        var communicator = new MpiCommunicator(OpenMpiLibrary.Load(launch.MpiLibrary), launch.Timeout);
        if ((launch.WorldSize is { } size && size != communicator.Size) || (launch.Rank is { } rank && rank != communicator.Rank))
            throw new DistributedException(
                $"{launch.Launcher} started this process as rank {launch.Rank} of {launch.WorldSize}, but MPI sees rank {communicator.Rank} of {communicator.Size}" +
                (launch.Launcher == "srun"
                    ? ": start it with srun --mpi=pmix (or --mpi=pmi2) so that Open MPI finds the other tasks"
                    : ": start every rank with the same Open MPI's mpirun"));
        return new ProcessGroup(communicator);
    }

    public int Rank => communicator.Rank;

    public int WorldSize => communicator.Size;

    /// <summary>This rank's position among the ranks on its host (selects its CUDA device).</summary>
    public int LocalRank { get; }

    /// <summary>The number of ranks on this host.</summary>
    public int LocalSize { get; }

    public string HostName => communicator.HostName;

    /// <summary>Every rank's host, by rank.</summary>
    public IReadOnlyList<string> Hosts { get; }

    /// <summary>The rank that writes logs, checkpoints and results.</summary>
    public bool IsMain => Rank == 0;

    public bool IsDistributed => WorldSize > 1;

    /// <summary>What carries the data (<c>single process</c>, <c>Open MPI v4.1.4 (libmpi.so.40)</c>), and NCCL when in use.</summary>
    public string Backend => nccl == null ? communicator.Description : $"{communicator.Description} + NCCL on cuda:{nccl.DeviceIndex}";

    /// <summary>Calls, bytes and seconds of the collectives so far: the bandwidth the run reaches.</summary>
    public CollectiveTraffic Traffic { get; } = new();

    /// <summary>How long a rank waits in a collective for the others (<c>RAE_DIST_TIMEOUT</c>).</summary>
    public TimeSpan Timeout
    {
        get => communicator.Timeout;
        set
        {
            communicator.Timeout = value;
            if (nccl != null) nccl.Timeout = value;
        }
    }

    /// <summary>
    /// The device this rank computes on: with several ranks, CUDA without an index (<c>cuda</c>, or <c>auto</c> on a
    /// CUDA machine) becomes <c>cuda:&lt;local rank&gt;</c> (modulo the devices present); anything else stays.
    /// </summary>
    public Device PlaceDevice(Device configured)
    {
        if (!IsDistributed || configured.type != DeviceType.CUDA || configured.index >= 0) return configured;
        int devices = torch.cuda.device_count();
        return new Device(DeviceType.CUDA, devices > 0 ? LocalRank % devices : LocalRank);
    }

    /// <summary>
    /// Prepares collectives on tensors of <paramref name="device"/>: for CUDA with several ranks, NCCL when its library
    /// loads (collective: every rank calls it), otherwise host staging. Returns a line saying which, for the log.
    /// </summary>
    public string UseDevice(Device device)
    {
        if (!IsDistributed) return "one process: no collectives";
        if (device.type != DeviceType.CUDA) return "collectives on host memory";
        if (nccl != null) return $"NCCL on cuda:{nccl.DeviceIndex}";
        nccl = NcclCollectives.TryCreate(communicator, device, out var reason);
        return reason;
    }

    /// <summary>
    /// When several ranks share a host and nothing chose libtorch's thread count (<c>OMP_NUM_THREADS</c> unset), gives
    /// each rank an equal share of the cores it may run on (at least one), so the ranks do not oversubscribe the CPU.
    /// Returns the thread count set, or null when it was left alone.
    /// </summary>
    public int? ShareCores()
    {
        if (LocalSize <= 1 || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OMP_NUM_THREADS"))) return null;
        int threads = Math.Max(1, Environment.ProcessorCount / LocalSize);
        torch.set_num_threads(threads);
        return threads;
    }

    /// <summary>In place: every rank's <paramref name="tensor"/> becomes the element-wise combination of all ranks' (same shape on every rank).</summary>
    public void AllReduce(Tensor tensor, ReduceOp op = ReduceOp.Sum)
    {
        if (op == ReduceOp.Mean && !tensor.is_floating_point())
            throw new ArgumentException($"a mean all-reduce needs a floating-point tensor, got {tensor.dtype}", nameof(tensor));
        if (!IsDistributed) return;
        var clock = Stopwatch.StartNew();
        var transportOp = op == ReduceOp.Mean ? ReduceOp.Sum : op;
        using (var scope = NewDisposeScope())
        using (torch.no_grad())
        {
            if (UsesNccl(tensor) && NcclCollectives.Reduces(tensor.dtype))
            {
                var work = tensor.is_contiguous() ? tensor : tensor.contiguous();
                nccl!.AllReduce(work, transportOp, "all-reduce");
                if (!ReferenceEquals(work, tensor)) tensor.copy_(work);
            }
            else
            {
                var type = ElementTypes.For(tensor.dtype);
                if (type == null && !tensor.is_floating_point())
                    throw new ArgumentException($"all-reduce of {tensor.dtype} tensors is not supported (float, double, int32, int64, uint8, and bf16/fp16 through float32)");
                bool direct = type != null && tensor.device_type == DeviceType.CPU && tensor.is_contiguous();
                var host = direct ? tensor : tensor.to(type != null ? tensor.dtype : ScalarType.Float32, torch.CPU).contiguous();
                unsafe
                {
                    communicator.AllReduce((void*)TensorMemory.Address(host), host.numel(), ElementTypes.For(host.dtype)!.Value, transportOp);
                }
                if (!direct) tensor.copy_(host);
            }
            if (op == ReduceOp.Mean) tensor.div_(WorldSize);
        }
        Traffic.Add("all-reduce", TensorMemory.ByteCount(tensor), clock.Elapsed);
    }

    /// <summary>In place: every rank's <paramref name="tensor"/> becomes <paramref name="root"/>'s (same shape and dtype on every rank).</summary>
    public void Broadcast(Tensor tensor, int root = 0)
    {
        if (!IsDistributed) return;
        var clock = Stopwatch.StartNew();
        using (var scope = NewDisposeScope())
        using (torch.no_grad())
        {
            if (UsesNccl(tensor))
            {
                var work = tensor.is_contiguous() ? tensor : tensor.contiguous();
                nccl!.Broadcast(work, root, "broadcast");
                if (!ReferenceEquals(work, tensor)) tensor.copy_(work);
            }
            else
            {
                bool direct = tensor.device_type == DeviceType.CPU && tensor.is_contiguous();
                var host = direct ? tensor : tensor.cpu().contiguous();
                unsafe
                {
                    communicator.Broadcast((void*)TensorMemory.Address(host), TensorMemory.ByteCount(host), root);
                }
                if (!direct) tensor.copy_(host);
            }
        }
        Traffic.Add("broadcast", TensorMemory.ByteCount(tensor), clock.Elapsed);
    }

    /// <summary>
    /// The ranks' tensors concatenated along dimension 0 in rank order, on <paramref name="root"/> (null on the other
    /// ranks); their lengths may differ, their other dimensions and dtype must agree. On the tensor's device.
    /// </summary>
    public Tensor? Gather(Tensor local, int root = 0)
    {
        var clock = Stopwatch.StartNew();
        using var scope = NewDisposeScope();
        var headers = ExchangeHeaders(local);
        var shape = ConcatenatedShape(headers);
        Tensor? result = Rank == root ? torch.empty(shape, local.dtype) : null;
        GatherInto(local, headers, result is null ? null : RowBlocks(result, headers), root);
        Traffic.Add("gather", TensorMemory.ByteCount(local), clock.Elapsed);
        return result?.to(local.device).MoveToOuterDisposeScope();
    }

    /// <summary>The ranks' tensors concatenated along dimension 0 in rank order, on every rank (see <see cref="Gather"/>).</summary>
    public Tensor AllGather(Tensor local)
    {
        using var scope = NewDisposeScope();
        var shape = ConcatenatedShape(ExchangeHeaders(local));
        var result = Gather(local.cpu(), 0) ?? torch.empty(shape, local.dtype);
        Broadcast(result, 0);
        return result.to(local.device).MoveToOuterDisposeScope();
    }

    /// <summary>Every rank's tensor, in rank order, on <paramref name="root"/> (null on the other ranks); shapes and dtypes may differ.</summary>
    public Tensor[]? GatherEach(Tensor local, int root = 0)
    {
        var clock = Stopwatch.StartNew();
        using var scope = NewDisposeScope();
        var headers = ExchangeHeaders(local);
        var results = Rank == root ? headers.Select(h => torch.empty(h.Shape, h.Type)).ToArray() : null;
        GatherInto(local, headers, results, root);
        Traffic.Add("gather", TensorMemory.ByteCount(local), clock.Elapsed);
        return results?.Select(t => t.to(local.device).MoveToOuterDisposeScope()).ToArray();
    }

    /// <summary>Every rank's tensor, in rank order, on every rank; shapes and dtypes may differ.</summary>
    public Tensor[] AllGatherEach(Tensor local)
    {
        using var scope = NewDisposeScope();
        var headers = ExchangeHeaders(local);
        var results = GatherEach(local.cpu(), 0) ?? headers.Select(h => torch.empty(h.Shape, h.Type)).ToArray();
        foreach (var result in results) Broadcast(result, 0);
        return results.Select(t => t.to(local.device).MoveToOuterDisposeScope()).ToArray();
    }

    /// <summary>Every rank's <paramref name="text"/>, in rank order.</summary>
    public string[] AllGatherStrings(string text)
    {
        if (!IsDistributed) return [text];
        using var scope = NewDisposeScope();
        var bytes = torch.tensor(Encoding.UTF8.GetBytes(text), ScalarType.Byte);
        return AllGatherEach(bytes).Select(t => Encoding.UTF8.GetString(t.data<byte>().ToArray())).ToArray();
    }

    /// <summary>Returns when every rank has called it; waits at most <paramref name="timeout"/> (default <see cref="Timeout"/>).</summary>
    public void Barrier(TimeSpan? timeout = null)
    {
        if (!IsDistributed) return;
        var clock = Stopwatch.StartNew();
        communicator.Barrier(timeout);
        Traffic.Add("barrier", 0, clock.Elapsed);
    }

    /// <summary>
    /// One line per rank (collective): host, process id, local rank, device and torch threads, for the run's log.
    /// </summary>
    public string[] DescribeRanks(Device device)
    {
        var line = string.Create(CultureInfo.InvariantCulture,
            $"host {HostName}, pid {Environment.ProcessId}, local rank {LocalRank} of {LocalSize}, device {device}, {torch.get_num_threads()} torch threads");
        return AllGatherStrings(line).Select((text, rank) => $"rank {rank} of {WorldSize}: {text}").ToArray();
    }

    /// <summary>
    /// Makes every rank stop after a failure on this one: prints <paramref name="reason"/> naming this rank and its
    /// host and ends the MPI job (<c>MPI_Abort</c>; <c>mpirun</c>/<c>srun</c> then end the other ranks and exit with
    /// a non-zero code). Does not return in a run of several processes; does nothing in a single process, where the
    /// caller's exception ends the run.
    /// </summary>
    public void FailAll(string reason)
    {
        if (!IsDistributed) return;
        communicator.Abort($"rae: rank {Rank} of {WorldSize} ({HostName}) failed: {reason}; stopping every rank", 1);
    }

    public void Dispose()
    {
        if (ReferenceEquals(this, Single)) return;
        nccl?.Dispose();
        nccl = null;
        communicator.Dispose();
    }

    bool UsesNccl(Tensor tensor) =>
        nccl != null && tensor.device_type == DeviceType.CUDA && (tensor.device_index < 0 ? 0 : tensor.device_index) == nccl.DeviceIndex;

    /// <summary>Every rank's dtype and shape (collective: an all-reduce of a small table with one row per rank).</summary>
    (ScalarType Type, long[] Shape)[] ExchangeHeaders(Tensor local)
    {
        if (local.dim() > MaxDimensions)
            throw new ArgumentException($"gathers handle at most {MaxDimensions} dimensions, got [{string.Join(", ", local.shape)}]");
        const int width = 2 + MaxDimensions;
        var table = new long[WorldSize * width];
        table[Rank * width] = (long)local.dtype;
        table[Rank * width + 1] = local.dim();
        for (int d = 0; d < local.dim(); d++) table[Rank * width + 2 + d] = local.shape[d];
        if (IsDistributed)
        {
            using var shared = torch.tensor(table);
            AllReduce(shared);
            table = shared.data<long>().ToArray();
        }
        return Enumerable.Range(0, WorldSize)
            .Select(r => ((ScalarType)table[r * width], table.AsSpan(r * width + 2, (int)table[r * width + 1]).ToArray()))
            .ToArray();
    }

    /// <summary>The shape of the ranks' tensors concatenated along dimension 0; throws naming the rank that does not fit.</summary>
    static long[] ConcatenatedShape((ScalarType Type, long[] Shape)[] headers)
    {
        var (type, first) = headers[0];
        for (int r = 0; r < headers.Length; r++)
        {
            var (rankType, shape) = headers[r];
            if (shape.Length == 0 || rankType != type || shape.Length != first.Length || !shape.AsSpan(1).SequenceEqual(first.AsSpan(1)))
                throw new DistributedException(
                    $"cannot concatenate the ranks' tensors along dimension 0: rank 0 has {type} [{string.Join(", ", first)}], rank {r} has {rankType} [{string.Join(", ", shape)}]");
        }
        return [headers.Sum(h => h.Shape[0]), .. first.Skip(1)];
    }

    /// <summary>The row blocks of <paramref name="result"/> that receive each rank's rows (views, contiguous).</summary>
    static Tensor[] RowBlocks(Tensor result, (ScalarType Type, long[] Shape)[] headers)
    {
        long offset = 0;
        return headers.Select(h =>
        {
            var block = result.narrow(0, offset, h.Shape[0]);
            offset += h.Shape[0];
            return block;
        }).ToArray();
    }

    /// <summary>Gathers every rank's bytes of <paramref name="local"/> into <paramref name="targets"/> (contiguous CPU tensors, at the root).</summary>
    unsafe void GatherInto(Tensor local, (ScalarType Type, long[] Shape)[] headers, Tensor[]? targets, int root)
    {
        var lengths = headers.Select(h => h.Shape.Aggregate(1L, (a, b) => a * b) * ElementSize(h.Type)).ToArray();
        var send = local.device_type == DeviceType.CPU && local.is_contiguous() ? local : local.cpu().contiguous();
        communicator.Gather((void*)TensorMemory.Address(send), lengths, targets?.Select(TensorMemory.Address).ToArray(), root);
    }

    static long ElementSize(ScalarType type)
    {
        using var probe = torch.empty(0, type);
        return probe.element_size();
    }
}
