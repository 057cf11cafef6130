namespace RaePipeline.Distributed;

/// <summary>
/// The one place that knows how to start a program as N ranks with Open MPI's <c>mpirun</c> on a single machine, as
/// the tests and the benchmark do, in a container and as root: <c>--allow-run-as-root</c> (mpirun refuses root
/// otherwise), <c>--oversubscribe</c> (more ranks than cores is allowed), <c>--bind-to none</c> (the ranks share
/// the cores with whatever else runs), shared-memory and self transports only (<c>--mca btl self,vader</c>: no
/// network probing). Without <c>singleCopy</c> large messages are copied through shared memory
/// (<c>btl_vader_single_copy_mechanism none</c>), which works in every container; with it Open MPI reads them
/// straight from the other process (CMA, <c>process_vm_readv</c>), several times faster where the container allows
/// it (Docker 19.03+ on Linux 4.8+ does).
/// </summary>
public static class MpiRun
{
    /// <summary>The Debian/Ubuntu package that provides <c>mpirun</c> and <c>libmpi.so.40</c>.</summary>
    public const string InstallHint = "install Open MPI to run them (Debian/Ubuntu: apt-get install -y openmpi-bin)";

    /// <summary>Options for <c>mpirun</c> before the program: the rank count and the container/root settings above.</summary>
    public static IReadOnlyList<string> Options(int ranks, bool singleCopy = false) =>
    [
        "-np", ranks.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "--mca", "btl", "self,vader",
        .. singleCopy ? Array.Empty<string>() : ["--mca", "btl_vader_single_copy_mechanism", "none"],
    ];

    /// <summary>The <c>mpirun</c> on the PATH, or null when Open MPI is not installed.</summary>
    public static string? Find()
    {
        foreach (var folder in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(folder, "mpirun");
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }
}
