using System.Diagnostics;
using System.Text;
using RaePipeline.Distributed;
using Xunit;

namespace RaePipeline.Testing;

/// <summary>A test that starts several processes with Open MPI's mpirun; skipped with a message that says how to install it when it is missing.</summary>
public sealed class MpiFactAttribute : FactAttribute
{
    public MpiFactAttribute()
    {
        if (MpiRun.Find() == null) Skip = $"mpirun not found: this test starts several processes with Open MPI; {MpiRun.InstallHint}";
    }
}

/// <summary>What a launched run left: its exit code, its standard output and error interleaved, and how long it took.</summary>
public sealed record LaunchResult(int ExitCode, string Output, TimeSpan Elapsed, bool TimedOut);

/// <summary>Starts <c>mpirun</c> (with <see cref="MpiRun.Options"/>) on a .NET program and collects what it printed.</summary>
public static class MpiLaunch
{
    /// <summary>
    /// Runs <c>mpirun -np ranks ... dotnet assembly arguments</c> with <paramref name="environment"/> added; kills it
    /// (and every process it started) when it has not ended after <paramref name="limit"/>.
    /// </summary>
    public static LaunchResult Run(int ranks, string assembly, IEnumerable<string> arguments, TimeSpan limit,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = StartInfo(ranks, assembly, arguments, environment);
        var output = new StringBuilder();
        void Append(object _, DataReceivedEventArgs line)
        {
            if (line.Data == null) return;
            lock (output) output.AppendLine(line.Data);
        }
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        process.OutputDataReceived += Append;
        process.ErrorDataReceived += Append;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        bool ended = process.WaitForExit(limit);
        if (!ended) process.Kill(entireProcessTree: true);
        process.WaitForExit();
        lock (output) return new LaunchResult(ended ? process.ExitCode : -1, output.ToString(), clock.Elapsed, !ended);
    }

    /// <summary><c>mpirun -np ranks ... dotnet assembly arguments</c> with <paramref name="environment"/> added, output redirected (for a test that drives the process itself).</summary>
    public static ProcessStartInfo StartInfo(int ranks, string assembly, IEnumerable<string> arguments,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var mpirun = MpiRun.Find() ?? throw new InvalidOperationException($"mpirun not found: {MpiRun.InstallHint}");
        var start = new ProcessStartInfo(mpirun)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var option in MpiRun.Options(ranks)) start.ArgumentList.Add(option);
        start.ArgumentList.Add(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet");
        start.ArgumentList.Add(assembly);
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) start.Environment[key] = value;
        return start;
    }
}
