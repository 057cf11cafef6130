using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RaePipeline.Host.Running;
using RaePipeline.Pipeline;

namespace RaePipeline.Host.Tests;

/// <summary>A host with the bundled plugins, the sample third-party plugin folder, and pipelines written to a temp folder.</summary>
public sealed class HostFixture : IDisposable
{
    readonly ServiceProvider services = HostServices.Create(LogLevel.Warning, ProgressReporter.Silent, b => { });

    public HostFixture()
    {
        Runner = services.GetRequiredService<PipelineRunner>();
        Folder = TestPaths.NewTemporaryFolder();
    }

    public PipelineRunner Runner { get; }

    public string Folder { get; }

    /// <summary>Writes a pipeline file (the sample plugin's folder is listed under <c>plugins:</c>) and returns its path.</summary>
    public string Pipeline(string yaml, string name = "pipeline.yaml")
    {
        var path = Path.Combine(Folder, name);
        File.WriteAllText(path, $"plugins: [\"{TestPaths.SamplePluginFolder}\"]\n" + yaml);
        return path;
    }

    public void Dispose()
    {
        services.Dispose();
        Directory.Delete(Folder, recursive: true);
    }
}
