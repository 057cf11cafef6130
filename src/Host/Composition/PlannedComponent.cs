using RaePipeline.Abstractions;
using RaePipeline.Host.Plugins;
using RaePipeline.Pipeline;
using YamlDotNet.RepresentationModel;

namespace RaePipeline.Host.Composition;

/// <summary>A role of a validated pipeline: which component, its bound options, its weights, what it will look like.</summary>
public sealed class PlannedComponent
{
    public required PipelineRole Role { get; init; }
    public required ComponentEntry Entry { get; init; }
    public required object Options { get; init; }
    public string? WeightsPath { get; init; }
    public required YamlNode Node { get; init; }
    public ComponentDescription? Description { get; set; }
}
