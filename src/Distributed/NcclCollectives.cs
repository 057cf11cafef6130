using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Distributed;

/// <summary>
/// All-reduce and broadcast of CUDA tensors through NCCL's C API (<c>libnccl.so.2</c>), on one CUDA device per rank:
/// rank 0's <c>ncclGetUniqueId</c> travels to the others through the host transport (MPI), every rank joins with
/// <c>ncclCommInitRank</c>, and operations are enqueued on the legacy default stream (stream 0, the one libtorch runs
/// its kernels on) with the tensors' device addresses, then polled (<c>cudaStreamQuery</c>) until done or the
/// timeout (then <c>ncclCommAbort</c>). Not run on the machines this project is built on (no GPU there).
/// </summary>
internal sealed unsafe class NcclCollectives : IDisposable
{
    const int NcclSuccess = 0, NcclInProgress = 7, CudaSuccess = 0, CudaNotReady = 600;

    [StructLayout(LayoutKind.Sequential, Size = 128)] // NCCL_UNIQUE_ID_BYTES
    struct UniqueId
    {
#pragma warning disable CS0649 // filled by ncclGetUniqueId / the broadcast
        public fixed byte Bytes[128];
#pragma warning restore CS0649
    }

    readonly delegate* unmanaged<void*, void*, nuint, int, int, nint, nint, int> allReduce;
    readonly delegate* unmanaged<void*, void*, nuint, int, int, nint, nint, int> broadcast;
    readonly delegate* unmanaged<nint, int*, int> commGetAsyncError;
    readonly delegate* unmanaged<nint, int> commAbort;
    readonly delegate* unmanaged<nint, int> commDestroy;
    readonly delegate* unmanaged<int, byte*> errorString;
    readonly delegate* unmanaged<int, int> cudaSetDevice;
    readonly delegate* unmanaged<nint, int> cudaStreamQuery;
    readonly nint comm;
    readonly int rank;

    NcclCollectives(nint nccl, nint cudart, Communicator host, int deviceIndex)
    {
        nint Export(nint library, string name) => NativeLibrary.TryGetExport(library, name, out var address)
            ? address
            : throw new DistributedException($"rank {host.Rank}: '{name}' is missing from the NCCL/CUDA runtime libraries");
        var getUniqueId = Export(nccl, "ncclGetUniqueId");
        var commInitRank = Export(nccl, "ncclCommInitRank");
        allReduce = (delegate* unmanaged<void*, void*, nuint, int, int, nint, nint, int>)Export(nccl, "ncclAllReduce");
        broadcast = (delegate* unmanaged<void*, void*, nuint, int, int, nint, nint, int>)Export(nccl, "ncclBroadcast");
        commGetAsyncError = (delegate* unmanaged<nint, int*, int>)Export(nccl, "ncclCommGetAsyncError");
        commAbort = (delegate* unmanaged<nint, int>)Export(nccl, "ncclCommAbort");
        commDestroy = (delegate* unmanaged<nint, int>)Export(nccl, "ncclCommDestroy");
        errorString = (delegate* unmanaged<int, byte*>)Export(nccl, "ncclGetErrorString");
        cudaSetDevice = (delegate* unmanaged<int, int>)Export(cudart, "cudaSetDevice");
        cudaStreamQuery = (delegate* unmanaged<nint, int>)Export(cudart, "cudaStreamQuery");
        rank = host.Rank;
        DeviceIndex = deviceIndex;
        Timeout = host.Timeout;

        CheckCuda(cudaSetDevice(deviceIndex), "cudaSetDevice");
        UniqueId id = default;
        if (host.Rank == 0) Check(((delegate* unmanaged<UniqueId*, int>)getUniqueId)(&id), "ncclGetUniqueId");
        host.Broadcast(&id, sizeof(UniqueId), 0);
        nint created = 0;
        Check(((delegate* unmanaged<nint*, int, UniqueId, int, int>)commInitRank)(&created, host.Size, id, host.Rank), "ncclCommInitRank");
        comm = created;
    }

    public int DeviceIndex { get; }

    public TimeSpan Timeout { get; set; }

    /// <summary>NCCL on <paramref name="device"/> when <c>libnccl</c> and the CUDA runtime load; otherwise null and the reason.</summary>
    public static NcclCollectives? TryCreate(Communicator host, Device device, out string reason)
    {
        nint nccl = 0, cudart = 0;
        bool found = new[] { "libnccl.so.2", "libnccl.so" }.Any(n => NativeLibrary.TryLoad(n, out nccl)) &&
                     new[] { "libcudart.so", "libcudart.so.12", "libcudart.so.11.0" }.Any(n => NativeLibrary.TryLoad(n, out cudart));
        if (!found)
        {
            reason = "libnccl.so.2 or the CUDA runtime (libcudart.so) was not found: CUDA tensors are staged through host memory";
            return null;
        }
        reason = $"NCCL on cuda:{device.index}";
        return new NcclCollectives(nccl, cudart, host, device.index < 0 ? 0 : device.index);
    }

    /// <summary>Whether NCCL reduces <paramref name="dtype"/> (every type it has: float16/32/64, bfloat16, int8/32/64, uint8).</summary>
    public static bool Reduces(ScalarType dtype) => TypeOf(dtype) >= 0;

    /// <summary>In place on this device; <paramref name="tensor"/> contiguous.</summary>
    public void AllReduce(Tensor tensor, ReduceOp op, string what)
    {
        int ncclOp = op switch // ncclRedOp_t
        {
            ReduceOp.Sum => 0,
            ReduceOp.Max => 2,
            ReduceOp.Min => 3,
            _ => throw new ArgumentOutOfRangeException(nameof(op), op, "NCCL reduces here with Sum, Max or Min"),
        };
        var address = (void*)TensorMemory.Address(tensor);
        CheckCuda(cudaSetDevice(DeviceIndex), "cudaSetDevice");
        Check(allReduce(address, address, (nuint)tensor.numel(), TypeOf(tensor.dtype), ncclOp, comm, 0), what);
        Complete(what);
    }

    /// <summary>In place on this device, as bytes; <paramref name="tensor"/> contiguous.</summary>
    public void Broadcast(Tensor tensor, int root, string what)
    {
        var address = (void*)TensorMemory.Address(tensor);
        CheckCuda(cudaSetDevice(DeviceIndex), "cudaSetDevice");
        Check(broadcast(address, address, (nuint)TensorMemory.ByteCount(tensor), 1 /* ncclUint8 */, root, comm, 0), what);
        Complete(what);
    }

    public void Dispose()
    {
        if (comm != 0) commDestroy(comm);
    }

    /// <summary>Waits until stream 0 has run the enqueued operation, or fails on an NCCL error or the timeout.</summary>
    void Complete(string what)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            int state = cudaStreamQuery(0);
            if (state == CudaSuccess) return;
            if (state != CudaNotReady) CheckCuda(state, what);
            int asynchronous = NcclSuccess;
            commGetAsyncError(comm, &asynchronous);
            if (asynchronous is not (NcclSuccess or NcclInProgress))
            {
                commAbort(comm);
                Check(asynchronous, what);
            }
            if (clock.Elapsed > Timeout)
            {
                commAbort(comm);
                throw new CollectiveTimeoutException(string.Create(CultureInfo.InvariantCulture,
                    $"rank {rank}: NCCL {what} on cuda:{DeviceIndex} did not complete within {Timeout.TotalSeconds:F0} s (RAE_DIST_TIMEOUT): another rank did not join"));
            }
            Thread.Yield();
        }
    }

    void Check(int result, string what)
    {
        if (result is NcclSuccess or NcclInProgress) return;
        throw new DistributedException($"rank {rank}: NCCL {what} failed: {Marshal.PtrToStringUTF8((nint)errorString(result))} (ncclResult {result})");
    }

    void CheckCuda(int result, string what)
    {
        if (result != CudaSuccess) throw new DistributedException($"rank {rank}: {what} failed with CUDA error {result}");
    }

    /// <summary>ncclDataType_t of <paramref name="dtype"/>, -1 when NCCL has none.</summary>
    static int TypeOf(ScalarType dtype) => dtype switch
    {
        ScalarType.Int8 => 0,
        ScalarType.Byte => 1,
        ScalarType.Int32 => 2,
        ScalarType.Int64 => 4,
        ScalarType.Float16 => 6,
        ScalarType.Float32 => 7,
        ScalarType.Float64 => 8,
        ScalarType.BFloat16 => 9,
        _ => -1,
    };
}
