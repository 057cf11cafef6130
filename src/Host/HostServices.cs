using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RaePipeline.Distributed;
using RaePipeline.Host.Logging;
using RaePipeline.Host.Plugins;
using RaePipeline.Host.Running;
using RaePipeline.Pipeline;

namespace RaePipeline.Host;

/// <summary>
/// Composes the host: logging (console, and the run's <c>run.log</c>), the plugin catalog and loader, the jobs
/// (every public <see cref="IJob"/> of the RaePipeline assemblies, built by the container so a job's constructor can
/// take <c>ILogger&lt;T&gt;</c> and other services) and the pipeline runner.
/// </summary>
public static class HostServices
{
    /// <param name="minimumLevel">For the console (changeable later through <see cref="LogVerbosity"/>); run.log gets at least Information, and Debug with a lower level.</param>
    /// <param name="configureLogging">Replaces the console logger (tests record or drop log lines).</param>
    public static ServiceProvider Create(LogLevel minimumLevel, ProgressReporter progress, Action<ILoggingBuilder>? configureLogging = null)
    {
        var services = new ServiceCollection();
        // In a run of several processes (mpirun, srun) the ranks other than 0 log only warnings and errors, each line
        // marked with its rank, so the run speaks once and every rank's trouble is still seen.
        var rank = LaunchEnvironment.Current.Rank ?? 0;
        var verbosity = new LogVerbosity(minimumLevel) { OnlyProblems = rank != 0 };
        services.AddSingleton(verbosity);
        services.AddSingleton<RunLogProvider>();
        services.AddLogging(builder =>
        {
            builder.SetMinimumLevel(LogLevel.Trace);
            builder.AddFilter((provider, _, level) => verbosity.Allows(provider, level));
            builder.Services.AddSingleton<ILoggerProvider>(provider => provider.GetRequiredService<RunLogProvider>());
            builder.AddFilter<Microsoft.Extensions.Logging.Console.ConsoleLoggerProvider>(RunLogProvider.FailureCategory, LogLevel.None);
            if (configureLogging != null) configureLogging(builder);
            else builder.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = rank == 0 ? "HH:mm:ss " : $"HH:mm:ss '[rank {rank}]' ";
            });
        });
        services.AddSingleton(progress);
        services.AddSingleton<ComponentCatalog>();
        services.AddSingleton(provider => new PluginAssemblyLoader(provider.GetRequiredService<ILoggerFactory>().CreateLogger("rae.plugins")));
        foreach (var job in JobCatalog.DiscoverTypes()) services.AddSingleton(typeof(IJob), job);
        services.AddSingleton<JobCatalog>();
        services.AddSingleton<PipelineRunner>();
        services.AddSingleton<IPipelineRunner>(provider => provider.GetRequiredService<PipelineRunner>());
        return services.BuildServiceProvider();
    }
}
