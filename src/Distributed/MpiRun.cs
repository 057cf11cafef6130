namespace RaePipeline.Distributed;

/// <summary>
/// The one place that knows how to start a program as N ranks with Open MPI's <c>mpirun</c> on a single machine, as
/// the tests and the benchmark do, in a container and as root: <c>--allow-run-as-root</c> (mpirun refuses root
/// otherwise), <c>--oversubscribe</c> (more ranks than cores is allowed), <c>--bind-to none</c> (the ranks share
/// the cores with whatever else runs), shared-memory and self transports only (<c>--mca btl self,vader</c>: no
/// network probing), and no single-copy mechanism (<c>btl_vader_single_copy_mechanism none</c>: CMA's
/// <c>process_vm_readv</c> is blocked in many containers).
/// </summary>
public static class MpiRun
{
    /// <summary>The Debian/Ubuntu package that provides <c>mpirun</c> and <c>libmpi.so.40</c>.</summary>
    public const string InstallHint = "install Open MPI to run them (Debian/Ubuntu: apt-get install -y openmpi-bin)";

    /// <summary>Options for <c>mpirun</c> before the program: the rank count and the container/root settings above.</summary>
    public static IReadOnlyList<string> Options(int ranks) =>
    [
        "-np", ranks.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "--allow-run-as-root", "--oversubscribe", "--bind-to", "none",
        "--mca", "btl", "self,vader", "--mca", "btl_vader_single_copy_mechanism", "none",
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
