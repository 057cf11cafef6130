using System.Diagnostics;
using Microsoft.Extensions.Logging;
using RaePipeline.Abstractions;
using RaePipeline.Distributed;
using RaePipeline.Host.Composition;
using RaePipeline.Host.Composition.Planning;
using RaePipeline.Host.Configuration;
using RaePipeline.Host.Logging;
using RaePipeline.Host.Plugins;
using RaePipeline.Pipeline;

namespace RaePipeline.Host.Running;

/// <summary>
/// Validates and runs pipeline files: loads the plugins they need, plans (validates) them, builds the components
/// lazily and runs the selected jobs in order, saving results after each job and logging to run.log in the run folder.
/// </summary>
public sealed class PipelineRunner(
    ComponentCatalog catalog, PluginAssemblyLoader loader, JobCatalog jobs, ILoggerFactory loggerFactory,
    RunLogProvider runLog, ProgressReporter progress) : IPipelineRunner
{
    readonly ILogger logger = loggerFactory.CreateLogger("rae");

    public ComponentCatalog Catalog => catalog;
    public JobCatalog Jobs => jobs;

    /// <summary>Plugins skipped because they could not be loaded.</summary>
    public IReadOnlyList<PluginLoadFailure> PluginFailures => loader.Failures;

    /// <summary>Loads the plugins of the default folders and of RAE_PLUGIN_PATH.</summary>
    public void LoadDefaultPlugins() => loader.LoadAll(PluginFolders.Roots([]), catalog);

    /// <summary>Parses, applies overrides, loads the pipeline's extra plugin folders and validates.</summary>
    public PipelinePlan Plan(string pipelinePath, IReadOnlyList<PipelineOverride> overrides) =>
        Plan(PipelineYaml.Load(pipelinePath, overrides));

    public PipelinePlan Plan(PipelineYaml yaml)
    {
        var extraFolders = (PipelineYaml.ValueNode(yaml.Root, "plugins") as YamlDotNet.RepresentationModel.YamlSequenceNode)?
            .Children.OfType<YamlDotNet.RepresentationModel.YamlScalarNode>()
            .Select(s => Path.GetFullPath(Path.Combine(yaml.Directory, s.Value ?? ""))) ?? [];
        loader.LoadAll(PluginFolders.Roots(extraFolders), catalog);
        var plan = new PipelinePlanner(catalog, jobs, loader.Failures).Plan(yaml);
        if (ProcessGroup.World.IsMain) // every rank plans the same pipeline: rank 0 speaks for all
            foreach (var warning in plan.Warnings) logger.LogWarning("{Warning}", warning);
        return plan;
    }

    public RunSummary Run(string pipelinePath, IReadOnlyList<PipelineOverride> overrides, string? runDirectory, JobSelection selection)
    {
        var plan = Plan(pipelinePath, overrides);
        var selected = selection.Apply(plan);
        var definition = plan.Definition;
        var folder = Path.GetFullPath(runDirectory ?? definition.Output
            ?? Path.Combine("runs", definition.Name ?? Path.GetFileNameWithoutExtension(plan.Yaml.File)));
        Directory.CreateDirectory(folder);
        // One process, or one rank of a run started by mpirun/srun: only rank 0 writes the run folder's files (the
        // host's logging passes only warnings and errors of the other ranks, prefixed with their rank), and it holds
        // the folder's lock (a second run on this folder fails here, naming the holder).
        var group = ProcessGroup.World;
        using var runLock = group.IsMain ? RunFolderLock.Acquire(folder) : null;
        if (group.IsMain) File.WriteAllText(Path.Combine(folder, "pipeline.yaml"), plan.Yaml.Serialize());
        using var log = group.IsMain ? runLog.Open(Path.Combine(folder, "run.log")) : null;
        var device = group.PlaceDevice(DeviceSelection.Resolve(definition.Device));
        group.ShareCores();
        TorchSharp.torch.manual_seed(definition.Seed);
        if (definition.Tf32 is { } tf32)
            TorchSharp.torch.backends.cuda.matmul.allow_tf32 = TorchSharp.torch.backends.cudnn.allow_tf32 = tf32;
        logger.LogInformation("pipeline {File}: run folder {Folder}, device {Device}, seed {Seed}, precision {Precision}, {Processes}",
            plan.Yaml.File, folder, device, definition.Seed, definition.Precision.Name(),
            group.IsDistributed ? $"{group.WorldSize} ranks over {group.Backend}, {group.UseDevice(device)}" : "one process");
        foreach (var rank in group.DescribeRanks(device)) logger.LogInformation("{Rank}", rank);
        var results = new RunResults();
        results.Record("run/world_size", group.WorldSize);
        var clock = Stopwatch.StartNew();
        using var components = new PipelineComponents(plan, device, definition.Seed, loggerFactory);
        var context = new JobContext
        {
            Components = components,
            Device = device,
            Seed = definition.Seed,
            RunDirectory = folder,
            PipelineDirectory = plan.Yaml.Directory,
            Data = definition.Data,
            LoggerFactory = loggerFactory,
            Progress = group.IsMain ? progress : ProgressReporter.Silent,
            Results = results,
            Runner = this,
            ProcessGroup = group,
        };
        foreach (var planned in plan.Jobs)
        {
            if (!selected.Contains(planned))
            {
                logger.LogInformation("job {Job} skipped", planned.Job.Name);
                continue;
            }
            var jobClock = Stopwatch.StartNew();
            context.Precision = planned.Precision ?? definition.Precision;
            logger.LogInformation("job {Job} started ({Precision})", planned.Job.Name, context.Precision.Name());
            logger.LogDebug("job {Job} options: {Options}", planned.Job.Name, OptionsText(planned.Options));
            try
            {
                planned.Job.Run(context, planned.Options);
            }
            catch (Exception e)
            {
                loggerFactory.CreateLogger(RunLogProvider.FailureCategory).LogError(e, "job {Job} failed after {Seconds:F1} s: {Message}", planned.Job.Name, jobClock.Elapsed.TotalSeconds, e.Message);
                if (group.IsDistributed)
                {
                    logger.LogError(e, "job {Job} failed on rank {Rank}", planned.Job.Name, group.Rank);
                    group.FailAll($"job {planned.Job.Name}: {e.Message}"); // ends every rank
                }
                throw;
            }
            results.Record($"{planned.Job.Name}/seconds", jobClock.Elapsed.TotalSeconds);
            if (group.IsMain) results.Save(folder);
            logger.LogInformation("job {Job} finished in {Seconds:F1} s", planned.Job.Name, jobClock.Elapsed.TotalSeconds);
            CollectionsAtSafePoints.SafePoint();
        }
        if (CollectionsAtSafePoints.IsEnabled)
            logger.LogDebug("garbage collections at safe points: {Renewals} in {Milliseconds:F0} ms (no-GC budget {Budget} MB, renewed after {Threshold} MB), {Early} regions ended early, {Resident} for resident growth",
                CollectionsAtSafePoints.Renewals, CollectionsAtSafePoints.RenewalTime.TotalMilliseconds,
                CollectionsAtSafePoints.BudgetBytes >> 20, CollectionsAtSafePoints.RenewAfterBytes >> 20, CollectionsAtSafePoints.RegionsEndedEarly,
                CollectionsAtSafePoints.ResidentRenewals);
        results.Record("run/seconds", clock.Elapsed.TotalSeconds);
        if (group.IsMain) results.Save(folder);
        return new RunSummary(folder, results, clock.Elapsed);
    }

    static string OptionsText(object options)
    {
        try
        {
            return System.Text.Json.JsonSerializer.Serialize(options, options.GetType());
        }
        catch (Exception e) when (e is NotSupportedException or InvalidOperationException or System.Text.Json.JsonException)
        {
            return options.ToString() ?? "";
        }
    }

    RunSummary IPipelineRunner.Run(string pipelinePath, IReadOnlyList<string> overrides, string runDirectory, IReadOnlySet<string> skipJobs) =>
        Run(pipelinePath, PipelineOverride.Set(overrides), runDirectory, new JobSelection { Skip = skipJobs.ToList(), Lenient = true });
}
