using System.Diagnostics;
using Microsoft.Extensions.Logging;
using RaePipeline.Abstractions;
using RaePipeline.Host.Composition;
using RaePipeline.Host.Configuration;
using RaePipeline.Host.Logging;
using RaePipeline.Host.Plugins;
using RaePipeline.Pipeline;

namespace RaePipeline.Host.Running;

/// <summary>
/// Validates and runs pipeline files: loads the plugins they need, plans (validates) them, builds the components
/// lazily and runs the jobs in order, saving results after each job and logging to run.log in the run folder.
/// </summary>
public sealed class PipelineRunner(
    ComponentCatalog catalog, PluginAssemblyLoader loader, JobCatalog jobs, ILoggerFactory loggerFactory,
    ProgressReporter progress) : IPipelineRunner
{
    readonly ILogger logger = loggerFactory.CreateLogger("rae");

    public ComponentCatalog Catalog => catalog;
    public JobCatalog Jobs => jobs;

    /// <summary>Loads the plugins of the default folders and of RAE_PLUGIN_PATH.</summary>
    public void LoadDefaultPlugins() => loader.LoadAll(PluginFolders.Roots([]), catalog);

    /// <summary>Parses, applies overrides, loads the pipeline's extra plugin folders and validates.</summary>
    public PipelinePlan Plan(string pipelinePath, IReadOnlyList<string> overrides)
    {
        var yaml = PipelineYaml.Load(pipelinePath, overrides);
        var extraFolders = (PipelinePlanner.ValueNode(yaml.Root, "plugins") as YamlDotNet.RepresentationModel.YamlSequenceNode)?
            .Children.OfType<YamlDotNet.RepresentationModel.YamlScalarNode>()
            .Select(s => Path.GetFullPath(Path.Combine(yaml.Directory, s.Value ?? ""))) ?? [];
        loader.LoadAll(PluginFolders.Roots(extraFolders), catalog);
        var plan = new PipelinePlanner(catalog, jobs).Plan(yaml);
        foreach (var warning in plan.Warnings) logger.LogWarning("{Warning}", warning);
        return plan;
    }

    public RunSummary Run(string pipelinePath, IReadOnlyList<string> overrides, string? runDirectory, IReadOnlySet<string> skipJobs)
    {
        var plan = Plan(pipelinePath, overrides);
        var definition = plan.Definition;
        var folder = Path.GetFullPath(runDirectory ?? definition.Output
            ?? Path.Combine("runs", definition.Name ?? Path.GetFileNameWithoutExtension(plan.Yaml.File)));
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "pipeline.yaml"), plan.Yaml.Serialize());
        using var fileLog = new FileLoggerProvider(Path.Combine(folder, "run.log"));
        using var runLoggers = LoggerFactory.Create(builder =>
        {
            builder.AddProvider(new ForwardingLoggerProvider(loggerFactory));
            builder.AddProvider(fileLog);
            builder.SetMinimumLevel(LogLevel.Trace);
        });
        var runLogger = runLoggers.CreateLogger("rae");
        var device = DeviceSelection.Resolve(definition.Device);
        TorchSharp.torch.manual_seed(definition.Seed);
        if (definition.Tf32 is { } tf32)
            TorchSharp.torch.backends.cuda.matmul.allow_tf32 = TorchSharp.torch.backends.cudnn.allow_tf32 = tf32;
        runLogger.LogInformation("pipeline {File}: run folder {Folder}, device {Device}, seed {Seed}, precision {Precision}",
            plan.Yaml.File, folder, device, definition.Seed, definition.Precision.Name());
        var results = new RunResults();
        var clock = Stopwatch.StartNew();
        using var components = new PipelineComponents(plan, device, definition.Seed, runLoggers);
        var context = new JobContext
        {
            Components = components,
            Device = device,
            Seed = definition.Seed,
            RunDirectory = folder,
            PipelineDirectory = plan.Yaml.Directory,
            Data = definition.Data,
            LoggerFactory = runLoggers,
            Progress = progress,
            Results = results,
            Runner = this,
        };
        foreach (var planned in plan.Jobs)
        {
            if (skipJobs.Contains(planned.Job.Name))
            {
                runLogger.LogInformation("job {Job} skipped", planned.Job.Name);
                continue;
            }
            var jobClock = Stopwatch.StartNew();
            context.Precision = planned.Precision ?? definition.Precision;
            runLogger.LogInformation("job {Job} started ({Precision})", planned.Job.Name, context.Precision.Name());
            planned.Job.Run(context, planned.Options);
            results.Record($"{planned.Job.Name}/seconds", jobClock.Elapsed.TotalSeconds);
            results.Save(folder);
            runLogger.LogInformation("job {Job} finished in {Seconds:F1} s", planned.Job.Name, jobClock.Elapsed.TotalSeconds);
        }
        results.Record("run/seconds", clock.Elapsed.TotalSeconds);
        results.Save(folder);
        return new RunSummary(folder, results, clock.Elapsed);
    }

    RunSummary IPipelineRunner.Run(string pipelinePath, IReadOnlyList<string> overrides, string runDirectory, IReadOnlySet<string> skipJobs) =>
        Run(pipelinePath, overrides, runDirectory, skipJobs);

    /// <summary>Sends a run's log lines to the host's own loggers (console) as well.</summary>
    sealed class ForwardingLoggerProvider(ILoggerFactory target) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => target.CreateLogger(categoryName);
        public void Dispose() { }
    }
}
