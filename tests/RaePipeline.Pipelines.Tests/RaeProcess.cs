using System.Diagnostics;
using System.Text;

namespace RaePipeline.Pipelines.Tests;

/// <summary>
/// The built host (<c>src/Host/bin/&lt;configuration&gt;/.../rae</c>, built with these tests) run as a child process,
/// for what only a separate process shows (kill -9, OS locks); output captured, libtorch on one thread (tiny models
/// gain nothing from a second thread on a busy machine).
/// </summary>
public sealed class RaeProcess : IDisposable
{
    readonly Process process;
    readonly StringBuilder output = new();

    public RaeProcess(params string[] args)
    {
        var build = Path.GetRelativePath(Path.Combine(RepositoryRoot.Path, "tests", "RaePipeline.Pipelines.Tests", "bin"), AppContext.BaseDirectory);
        var host = Path.Combine(RepositoryRoot.Path, "src", "Host", "bin", build, OperatingSystem.IsWindows() ? "rae.exe" : "rae");
        File.Exists(host).Should().BeTrue($"the host is built beside the tests ({host})");
        var start = new ProcessStartInfo(host)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            Environment = { ["OMP_NUM_THREADS"] = "1" },
        };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public bool HasExited => process.HasExited;

    public int ExitCode => process.ExitCode;

    /// <summary>Standard output and error so far.</summary>
    public string Output
    {
        get { lock (output) return output.ToString(); }
    }

    /// <summary>SIGKILL (kill -9 on Unix): no handler, no finally block, no flush runs.</summary>
    public void KillHard()
    {
        process.Kill(entireProcessTree: false);
        process.WaitForExit();
    }

    public bool WaitForExit(TimeSpan timeout) => process.WaitForExit(timeout);

    void Append(string? line)
    {
        if (line != null) lock (output) output.AppendLine(line);
    }

    public void Dispose()
    {
        if (!process.HasExited) KillHard();
        process.Dispose();
    }
}
