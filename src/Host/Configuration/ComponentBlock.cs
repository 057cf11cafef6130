using YamlDotNet.RepresentationModel;

namespace RaePipeline.Host.Configuration;

/// <summary>A role's block in a pipeline: <c>{ name: dinov2, weights: path, options: { ... } }</c>.</summary>
public sealed class ComponentBlock
{
    /// <summary>The component's name as its plugin registers it.</summary>
    public string Name { get; set; } = "";

    /// <summary>Weights file or folder, relative to the pipeline file; absent for random initialization.</summary>
    public string? Weights { get; set; }

    /// <summary>Bound later to the component's own options class.</summary>
    public YamlMappingNode? Options { get; set; }
}
