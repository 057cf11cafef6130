using RaePipeline.Host.Configuration;
using YamlDotNet.RepresentationModel;

namespace RaePipeline.Host.Composition.Planning;

/// <summary>One planning pass over a pipeline: its file, the options binder, and the problems and warnings found so far.</summary>
sealed class PlanningContext(PipelineYaml yaml)
{
    readonly OptionsBinder binder = new(yaml);
    readonly List<ConfigurationProblem> problems = [];

    public PipelineYaml Yaml => yaml;

    public List<string> Warnings { get; } = [];

    /// <summary>Binding problems first (they are found first, in file order), then the checks'.</summary>
    public IReadOnlyList<ConfigurationProblem> Problems => [.. binder.Problems, .. problems];

    public void Problem(YamlNode? node, string message) => problems.Add(yaml.Problem(node, message));

    /// <summary>Binds <paramref name="node"/> to a new <paramref name="type"/>; <paramref name="ok"/> tells whether that went without problems.</summary>
    public object Bind(YamlNode? node, Type type, string where, out bool ok)
    {
        int before = binder.Problems.Count;
        var bound = binder.Bind(node, type, where);
        ok = binder.Problems.Count == before;
        return bound;
    }

    /// <summary>A path from the pipeline file, absolute.</summary>
    public string Resolve(string path) => Path.GetFullPath(Path.Combine(yaml.Directory, path));
}
