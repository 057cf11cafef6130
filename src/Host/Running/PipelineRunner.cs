using System.Diagnostics;
using Microsoft.Extensions.Logging;
using RaePipeline.Distributed;
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
        if (ProcessGroup.World.IsMain) // every rank plans the same pipeline: rank 0 speaks for all
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
        // One process, or one rank of a run started by mpirun/srun: only rank 0 writes the run folder's files, and it
        // holds the folder's lock (a second run on this folder fails here, naming the holder).
        var group = ProcessGroup.World;
        using var runLock = group.IsMain ? RunFolderLock.Acquire(folder) : null;
        if (group.IsMain) File.WriteAllText(Path.Combine(folder, "pipeline.yaml"), plan.Yaml.Serialize());
        using var fileLog = group.IsMain ? new FileLoggerProvider(Path.Combine(folder, "run.log")) : null;
        using var runLoggers = LoggerFactory.Create(builder =>
        {
            var console = new ForwardingLoggerProvider(loggerFactory);
            builder.AddProvider(group.IsMain ? console : new RankLoggerProvider(console, group.Rank));
            if (fileLog != null) builder.AddProvider(fileLog);
            builder.SetMinimumLevel(LogLevel.Trace);
        });
        var runLogger = runLoggers.CreateLogger("rae");
        var device = group.PlaceDevice(DeviceSelection.Resolve(definition.Device));
        group.ShareCores();
        TorchSharp.torch.manual_seed(definition.Seed);
        runLogger.LogInformation("pipeline {File}: run folder {Folder}, device {Device}, seed {Seed}, {Processes}", plan.Yaml.File, folder,
            device, definition.Seed, group.IsDistributed ? $"{group.WorldSize} ranks over {group.Backend}, {group.UseDevice(device)}" : "one process");
        foreach (var rank in group.DescribeRanks(device)) runLogger.LogInformation("{Rank}", rank);
        var results = new RunResults();
        results.Record("run/world_size", group.WorldSize);
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
            Progress = group.IsMain ? progress : ProgressReporter.Silent,
            Results = results,
            Runner = this,
            ProcessGroup = group,
        };
        foreach (var planned in plan.Jobs)
        {
            if (skipJobs.Contains(planned.Job.Name))
            {
                runLogger.LogInformation("job {Job} skipped", planned.Job.Name);
                continue;
            }
            var jobClock = Stopwatch.StartNew();
            runLogger.LogInformation("job {Job} started", planned.Job.Name);
            try
            {
                planned.Job.Run(context, planned.Options);
            }
            catch (Exception e) when (group.IsDistributed)
            {
                runLogger.LogError(e, "job {Job} failed on rank {Rank}", planned.Job.Name, group.Rank);
                group.FailAll($"job {planned.Job.Name}: {e.Message}");
                throw; // not reached: FailAll ends every rank
            }
            results.Record($"{planned.Job.Name}/seconds", jobClock.Elapsed.TotalSeconds);
            if (group.IsMain) results.Save(folder);
            runLogger.LogInformation("job {Job} finished in {Seconds:F1} s", planned.Job.Name, jobClock.Elapsed.TotalSeconds);
        }
        results.Record("run/seconds", clock.Elapsed.TotalSeconds);
        if (group.IsMain) results.Save(folder);
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
