using RaePipeline.Host.Configuration;
using RaePipeline.Pipeline;

namespace RaePipeline.Host.Composition;

/// <summary>A pipeline that passed validation: everything bound, every file found, shapes consistent.</summary>
public sealed class PipelinePlan
{
    public required PipelineYaml Yaml { get; init; }
    public required PipelineDefinition Definition { get; init; }
    public required IReadOnlyDictionary<PipelineRole, PlannedComponent> Components { get; init; }
    public required GuidanceOptions Guidance { get; init; }
    public string? StatisticsPath { get; init; }
    public required IReadOnlyList<PlannedJob> Jobs { get; init; }
    public required IReadOnlyList<string> Warnings { get; init; }
}
