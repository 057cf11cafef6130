using RaePipeline.Host;
using RaePipeline.Pipeline;
using TorchSharp;

namespace RaePipeline.Pipelines.Tests;

/// <summary>Runs the <c>rae</c> command in-process, as a user would from the shell, and a temp folder per test.</summary>
public sealed class Rae : IDisposable
{
    public Rae()
    {
        Folder = Path.Combine(Path.GetTempPath(), "rae-pipelines-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Folder);
    }

    public string Folder { get; }

    public string Write(string name, string text)
    {
        var path = Path.Combine(Folder, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>Runs <c>rae args...</c>; fails the test with the error output when the exit code is not 0.</summary>
    public string Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = RaeCommand.Run([args[0], "-v", .. args[1..]], output, error, ProgressReporter.Silent, _ => { });
        exit.Should().Be(0, $"rae {string.Join(' ', args)} failed:\n{error}\n{output}");
        return output.ToString();
    }

    /// <summary><see cref="Run"/> with libtorch on one thread, like the processes the tests start, then the thread count as it was.</summary>
    public string RunOnOneThread(params string[] args)
    {
        int threads = torch.get_num_threads();
        torch.set_num_threads(1);
        try
        {
            return Run(args);
        }
        finally
        {
            torch.set_num_threads(threads);
        }
    }

    /// <summary>A path for YAML: forward slashes, quoted.</summary>
    public static string Yaml(string path) => "\"" + path.Replace('\\', '/') + "\"";

    public void Dispose() => Directory.Delete(Folder, recursive: true);
}
