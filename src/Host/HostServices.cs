using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RaePipeline.Host.Plugins;
using RaePipeline.Host.Running;
using RaePipeline.Pipeline;

namespace RaePipeline.Host;

/// <summary>Composes the host: logging, the plugin catalog and loader, the job catalog and the pipeline runner.</summary>
public static class HostServices
{
    public static ServiceProvider Create(LogLevel minimumLevel, ProgressReporter progress, Action<ILoggingBuilder>? configureLogging = null)
    {
        var services = new ServiceCollection();
        services.AddLogging(builder =>
        {
            builder.SetMinimumLevel(minimumLevel);
            if (configureLogging != null) configureLogging(builder);
            else builder.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "HH:mm:ss ";
            });
        });
        services.AddSingleton(progress);
        services.AddSingleton<ComponentCatalog>();
        services.AddSingleton(provider => new PluginAssemblyLoader(provider.GetRequiredService<ILoggerFactory>().CreateLogger("rae.plugins")));
        services.AddSingleton(_ => JobCatalog.Discover());
        services.AddSingleton<PipelineRunner>();
        services.AddSingleton<IPipelineRunner>(provider => provider.GetRequiredService<PipelineRunner>());
        return services.BuildServiceProvider();
    }
}
