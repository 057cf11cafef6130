using System.Runtime.InteropServices;
using System.Text;

namespace RaePipeline.Distributed;

/// <summary>
/// Open MPI's C library (<c>libmpi.so.40</c>, Open MPI 3 to 5), bound at run time: functions by their names, and the
/// predefined handles (<c>MPI_COMM_WORLD</c>, <c>MPI_FLOAT</c>, <c>MPI_SUM</c>, <c>MPI_ERRORS_RETURN</c>, ...) as the
/// addresses of the globals Open MPI exports for them (<c>ompi_mpi_comm_world</c>, ...), which is what its
/// <c>mpi.h</c> macros expand to. The few values that are plain macros in Open MPI's <c>mpi.h</c> are taken from
/// it: <c>MPI_IN_PLACE</c> = (void*)1, <c>MPI_STATUS_IGNORE</c> = NULL, <c>MPI_SUCCESS</c> = 0,
/// <c>MPI_THREAD_SERIALIZED</c> = 2. MPICH-family libraries have another ABI and are refused by name.
/// </summary>
internal sealed unsafe class OpenMpiLibrary
{
    /// <summary>Open MPI's <c>MPI_IN_PLACE</c>.</summary>
    public static readonly void* InPlace = (void*)1;

    public const int Success = 0;
    public const int ThreadSerialized = 2;
    const int MaxStringLength = 1024; // MPI_MAX_PROCESSOR_NAME, MPI_MAX_ERROR_STRING, ... are 256 in Open MPI

    public readonly delegate* unmanaged<int*, int> Initialized;
    public readonly delegate* unmanaged<int*, byte***, int, int*, int> InitThread;
    public readonly delegate* unmanaged<int*, int> Finalized;
    public readonly delegate* unmanaged<int> FinalizeLibrary;
    public readonly delegate* unmanaged<nint, int*, int> CommRank;
    public readonly delegate* unmanaged<nint, int*, int> CommSize;
    public readonly delegate* unmanaged<nint, nint, int> CommSetErrhandler;
    public readonly delegate* unmanaged<void*, void*, int, nint, nint, nint, nint*, int> Iallreduce;
    public readonly delegate* unmanaged<void*, int, nint, int, nint, nint*, int> Ibcast;
    public readonly delegate* unmanaged<void*, int, nint, int, int, nint, nint*, int> Isend;
    public readonly delegate* unmanaged<void*, int, nint, int, int, nint, nint*, int> Irecv;
    public readonly delegate* unmanaged<int, int, nint, int*, void*, int> Iprobe;
    public readonly delegate* unmanaged<nint*, int*, void*, int> Test;
    public readonly delegate* unmanaged<nint, int, int> AbortWorld;
    readonly delegate* unmanaged<byte*, int*, int> getProcessorName;
    readonly delegate* unmanaged<byte*, int*, int> getLibraryVersion;
    readonly delegate* unmanaged<int, byte*, int*, int> errorString;

    public readonly nint CommWorld;
    public readonly nint ErrorsReturn;
    public readonly nint Byte;
    public readonly nint SumOp, MaxOp, MinOp;
    readonly Dictionary<ElementType, nint> types;

    OpenMpiLibrary(nint library, string path)
    {
        Path = path;
        nint Export(string name) => NativeLibrary.TryGetExport(library, name, out var address)
            ? address
            : throw new DistributedException($"{path} has no '{name}': not Open MPI's libmpi (set RAE_MPI_LIBRARY to Open MPI's libmpi.so.40)");
        Initialized = (delegate* unmanaged<int*, int>)Export("MPI_Initialized");
        InitThread = (delegate* unmanaged<int*, byte***, int, int*, int>)Export("MPI_Init_thread");
        Finalized = (delegate* unmanaged<int*, int>)Export("MPI_Finalized");
        FinalizeLibrary = (delegate* unmanaged<int>)Export("MPI_Finalize");
        CommRank = (delegate* unmanaged<nint, int*, int>)Export("MPI_Comm_rank");
        CommSize = (delegate* unmanaged<nint, int*, int>)Export("MPI_Comm_size");
        CommSetErrhandler = (delegate* unmanaged<nint, nint, int>)Export("MPI_Comm_set_errhandler");
        Iallreduce = (delegate* unmanaged<void*, void*, int, nint, nint, nint, nint*, int>)Export("MPI_Iallreduce");
        Ibcast = (delegate* unmanaged<void*, int, nint, int, nint, nint*, int>)Export("MPI_Ibcast");
        Isend = (delegate* unmanaged<void*, int, nint, int, int, nint, nint*, int>)Export("MPI_Isend");
        Irecv = (delegate* unmanaged<void*, int, nint, int, int, nint, nint*, int>)Export("MPI_Irecv");
        Iprobe = (delegate* unmanaged<int, int, nint, int*, void*, int>)Export("MPI_Iprobe");
        Test = (delegate* unmanaged<nint*, int*, void*, int>)Export("MPI_Test");
        AbortWorld = (delegate* unmanaged<nint, int, int>)Export("MPI_Abort");
        getProcessorName = (delegate* unmanaged<byte*, int*, int>)Export("MPI_Get_processor_name");
        getLibraryVersion = (delegate* unmanaged<byte*, int*, int>)Export("MPI_Get_library_version");
        errorString = (delegate* unmanaged<int, byte*, int*, int>)Export("MPI_Error_string");
        CommWorld = Export("ompi_mpi_comm_world");
        ErrorsReturn = Export("ompi_mpi_errors_return");
        Byte = Export("ompi_mpi_byte");
        SumOp = Export("ompi_mpi_op_sum");
        MaxOp = Export("ompi_mpi_op_max");
        MinOp = Export("ompi_mpi_op_min");
        types = new Dictionary<ElementType, nint>
        {
            [ElementType.Float32] = Export("ompi_mpi_float"),
            [ElementType.Float64] = Export("ompi_mpi_double"),
            [ElementType.Int32] = Export("ompi_mpi_int32_t"),
            [ElementType.Int64] = Export("ompi_mpi_int64_t"),
            [ElementType.UInt8] = Export("ompi_mpi_uint8_t"),
        };
    }

    /// <summary>The file the library was loaded from.</summary>
    public string Path { get; }

    /// <summary>
    /// Loads Open MPI's libmpi: <c>RAE_MPI_LIBRARY</c> when set, else <c>libmpi.so.40</c> or <c>libmpi.so</c> from
    /// the system's library path. Throws a message that says how to install it when none loads.
    /// </summary>
    public static OpenMpiLibrary Load(string? configured)
    {
        string[] candidates = string.IsNullOrWhiteSpace(configured) ? ["libmpi.so.40", "libmpi.so"] : [configured];
        foreach (var candidate in candidates)
            if (NativeLibrary.TryLoad(candidate, out var handle))
                return new OpenMpiLibrary(handle, candidate);
        throw new DistributedException(
            $"this process was launched as one rank of an MPI run, but Open MPI's library could not be loaded (tried {string.Join(", ", candidates)}): " +
            "install Open MPI (Debian/Ubuntu: apt-get install -y openmpi-bin) or set RAE_MPI_LIBRARY to its libmpi.so.40");
    }

    public nint TypeOf(ElementType type) => types[type];

    public nint OpOf(ReduceOp op) => op switch
    {
        ReduceOp.Sum => SumOp,
        ReduceOp.Max => MaxOp,
        ReduceOp.Min => MinOp,
        _ => throw new ArgumentOutOfRangeException(nameof(op), op, "the transport reduces with Sum, Max or Min"),
    };

    public string ProcessorName() => ReadString(getProcessorName);

    /// <summary>The library's name and version (<c>Open MPI v4.1.4</c>), without its build details.</summary>
    public string LibraryVersion() => ReadString(getLibraryVersion).Split('\n', ',')[0].Trim();

    public string ErrorText(int code)
    {
        var buffer = stackalloc byte[MaxStringLength];
        int length = 0;
        return errorString(code, buffer, &length) == Success
            ? Encoding.UTF8.GetString(buffer, Math.Clamp(length, 0, MaxStringLength))
            : $"MPI error {code}";
    }

    static string ReadString(delegate* unmanaged<byte*, int*, int> function)
    {
        var buffer = stackalloc byte[MaxStringLength];
        int length = 0;
        return function(buffer, &length) == Success ? Encoding.UTF8.GetString(buffer, Math.Clamp(length, 0, MaxStringLength)) : "";
    }
}
