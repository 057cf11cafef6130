using RaePipeline.Host.Configuration;
using RaePipeline.Host.Plugins;
using RaePipeline.Host.Running;
using RaePipeline.Pipeline;

namespace RaePipeline.Host.Composition.Planning;

/// <summary>
/// Validates a pipeline before any heavy work and turns it into a <see cref="PipelinePlan"/>: keys and types, the
/// device, each role's block (<see cref="ComponentBinding"/>), guidance (<see cref="GuidanceRules"/>), shapes across
/// roles and the statistics file (<see cref="ShapeChecks"/>), the data block (<see cref="DataChecks"/>) and the jobs
/// (<see cref="JobPlanning"/>). All problems are reported together, each with its file, line and column. A block with
/// problems of its own still counts as named, so the jobs that need it do not also report it missing.
/// </summary>
public sealed class PipelinePlanner(ComponentCatalog catalog, JobCatalog jobs, IReadOnlyList<PluginLoadFailure> loadFailures)
{
    public PipelinePlan Plan(PipelineYaml yaml)
    {
        var planning = new PlanningContext(yaml);
        var definition = (PipelineDefinition)planning.Bind(yaml.Root, typeof(PipelineDefinition), "pipeline", out _);
        DeviceSelection.Check(planning, definition.Device);
        PrecisionChecks.Check(planning, PipelineYaml.ValueNode(yaml.Root, "precision"), definition.Precision, definition.Device, "precision");

        var binding = new ComponentBinding(catalog, loadFailures);
        var components = new Dictionary<PipelineRole, PlannedComponent>();
        var named = new HashSet<PipelineRole>();
        foreach (var role in PipelineRoles.TopLevel)
        {
            if (definition.Block(role) is not { } block) continue;
            named.Add(role);
            if (binding.Bind(planning, role, block, PipelineYaml.ValueNode(yaml.Root, role.Key())!) is { } planned)
                components[role] = planned;
        }
        var guidance = GuidanceRules.Plan(planning, binding, definition.Guidance, components, named);

        ShapeChecks.Describe(planning, components);
        var statisticsPath = ShapeChecks.Statistics(planning, definition.Statistics, components);
        DataChecks.Check(planning, definition.Data, components);

        var validation = new JobValidationContext
        {
            Roles = named,
            Data = definition.Data,
            Descriptions = components.Where(c => c.Value.Description != null).ToDictionary(c => c.Key, c => c.Value.Description!),
            PipelineDirectory = yaml.Directory,
        };
        var plannedJobs = JobPlanning.Plan(planning, jobs, definition.Jobs, validation, definition.Device);

        if (planning.Problems.Count > 0) throw new PipelineConfigurationException(planning.Problems);
        return new PipelinePlan
        {
            Yaml = yaml,
            Definition = definition,
            Components = components,
            Guidance = guidance,
            StatisticsPath = statisticsPath,
            Jobs = plannedJobs,
            Warnings = planning.Warnings,
        };
    }
}
