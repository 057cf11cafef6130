using System.Collections;
using System.Globalization;

namespace RaePipeline.Distributed;

/// <summary>
/// How this process was started, read from its environment before any MPI call, and the settings of the
/// distributed layer:
/// <list type="bullet">
/// <item>one rank of an MPI job: Open MPI's <c>mpirun</c>/<c>mpiexec</c> (and the Kubernetes MPI Operator, which runs
/// it) set <c>OMPI_COMM_WORLD_SIZE</c>/<c>_RANK</c>/<c>_LOCAL_RANK</c>; Slurm's <c>srun</c> sets <c>SLURM_PROCID</c>,
/// <c>SLURM_STEP_NUM_TASKS</c> and <c>SLURM_LOCALID</c> (a batch script itself, outside <c>srun</c>, has no step
/// task count and is not a rank); a PMIx launcher sets <c>PMIX_RANK</c>;</item>
/// <item><c>RAE_DIST_BACKEND</c>: <c>auto</c> (MPI when launched as one of several ranks, default), <c>single</c>
/// (never MPI), <c>mpi</c> (always);</item>
/// <item><c>RAE_DIST_TIMEOUT</c>: seconds a rank waits in a collective for the others (default 600);</item>
/// <item><c>RAE_MPI_LIBRARY</c>: Open MPI's libmpi to load (default <c>libmpi.so.40</c> from the library path).</item>
/// </list>
/// </summary>
public sealed record LaunchEnvironment
{
    public const string BackendVariable = "RAE_DIST_BACKEND";
    public const string TimeoutVariable = "RAE_DIST_TIMEOUT";
    public const string MpiLibraryVariable = "RAE_MPI_LIBRARY";
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(10);

    /// <summary>Who launched this process: <c>mpirun</c>, <c>srun</c>, <c>PMIx</c>, or <c>none</c>.</summary>
    public string Launcher { get; init; } = "none";

    /// <summary>This process's rank as the launcher says (null when it says none).</summary>
    public int? Rank { get; init; }

    /// <summary>The number of ranks as the launcher says (null when unknown, as under a bare PMIx launcher).</summary>
    public int? WorldSize { get; init; }

    public int? LocalRank { get; init; }

    /// <summary><c>auto</c>, <c>single</c> or <c>mpi</c>.</summary>
    public string Backend { get; init; } = "auto";

    public TimeSpan Timeout { get; init; } = DefaultTimeout;

    public string? MpiLibrary { get; init; }

    /// <summary>Whether this process joins an MPI job: asked for, or launched as one of several (or an unknown number of) ranks.</summary>
    public bool UsesMpi => Backend == "mpi" || (Backend == "auto" && Launcher != "none" && (WorldSize is null or > 1));

    /// <summary>This process's environment.</summary>
    public static LaunchEnvironment Current =>
        From(Environment.GetEnvironmentVariables().Cast<DictionaryEntry>()
            .ToDictionary(e => (string)e.Key, e => (string?)e.Value ?? "", StringComparer.Ordinal));

    /// <summary>Reads <paramref name="variables"/>; a malformed value throws naming the variable.</summary>
    public static LaunchEnvironment From(IReadOnlyDictionary<string, string> variables)
    {
        int? Number(string name, int minimum)
        {
            if (!variables.TryGetValue(name, out var text) || string.IsNullOrWhiteSpace(text)) return null;
            if (!int.TryParse(text.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < minimum)
                throw new DistributedException($"environment variable {name}='{text}': expected a whole number of at least {minimum}");
            return value;
        }

        var backend = variables.GetValueOrDefault(BackendVariable, "auto").Trim().ToLowerInvariant();
        if (backend == "") backend = "auto";
        if (backend is not ("auto" or "single" or "mpi"))
            throw new DistributedException($"environment variable {BackendVariable}='{variables[BackendVariable]}': expected auto, single or mpi");
        var timeout = DefaultTimeout;
        if (variables.TryGetValue(TimeoutVariable, out var timeoutText) && !string.IsNullOrWhiteSpace(timeoutText))
        {
            if (!double.TryParse(timeoutText.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) ||
                !(seconds > 0) || double.IsInfinity(seconds))
                throw new DistributedException($"environment variable {TimeoutVariable}='{timeoutText}': expected a positive number of seconds");
            timeout = TimeSpan.FromSeconds(seconds);
        }
        var library = variables.GetValueOrDefault(MpiLibraryVariable);
        var settings = new LaunchEnvironment
        {
            Backend = backend,
            Timeout = timeout,
            MpiLibrary = string.IsNullOrWhiteSpace(library) ? null : library.Trim(),
        };

        if (Number("OMPI_COMM_WORLD_SIZE", 1) is { } ompiSize)
            return settings with
            {
                Launcher = "mpirun",
                WorldSize = ompiSize,
                Rank = Number("OMPI_COMM_WORLD_RANK", 0),
                LocalRank = Number("OMPI_COMM_WORLD_LOCAL_RANK", 0),
            };
        if (Number("SLURM_STEP_NUM_TASKS", 1) is { } tasks && Number("SLURM_PROCID", 0) is { } procId)
            return settings with { Launcher = "srun", WorldSize = tasks, Rank = procId, LocalRank = Number("SLURM_LOCALID", 0) };
        if (Number("PMIX_RANK", 0) is { } pmixRank)
            return settings with { Launcher = "PMIx", Rank = pmixRank };
        return settings;
    }
}
