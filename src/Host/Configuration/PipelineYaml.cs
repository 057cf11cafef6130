using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace RaePipeline.Host.Configuration;

/// <summary>
/// A pipeline file parsed into YAML nodes that remember their line and column, with <c>--set path.to.key=value</c>
/// overrides applied (nodes an override put in remember the argument instead, so problems point at it).
/// </summary>
public sealed class PipelineYaml
{
    readonly Dictionary<YamlNode, string> origins = new(ReferenceEqualityComparer.Instance);

    PipelineYaml(string file, YamlMappingNode root)
    {
        File = file;
        Root = root;
    }

    /// <summary>Absolute path of the pipeline file.</summary>
    public string File { get; }

    public string Directory => Path.GetDirectoryName(File)!;

    public YamlMappingNode Root { get; }

    public static PipelineYaml Load(string path, IEnumerable<PipelineOverride>? overrides = null)
    {
        var file = Path.GetFullPath(path);
        if (!System.IO.File.Exists(file))
            throw new PipelineConfigurationException(new ConfigurationProblem(file, 0, 0,
                System.IO.Directory.Exists(file) ? "is a folder, not a pipeline file" : "pipeline file not found"));
        byte[] bytes;
        try
        {
            bytes = System.IO.File.ReadAllBytes(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new PipelineConfigurationException(new ConfigurationProblem(file, 0, 0, $"cannot be read: {e.Message}"));
        }
        var yaml = Parse(file, PipelineText.Decode(file, bytes));
        foreach (var assignment in overrides ?? []) OverridePath.Apply(yaml, assignment);
        return yaml;
    }

    /// <summary>Parses one YAML document whose top level is a mapping; anything else is a located problem.</summary>
    public static PipelineYaml Parse(string file, string text)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            var (line, column) = YamlErrorLocation.Of(e, text);
            throw new PipelineConfigurationException(new ConfigurationProblem(file, line, column,
                $"malformed YAML: {YamlErrorLocation.StripLocation(e.InnerException?.Message ?? e.Message)}"));
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or FormatException or OverflowException)
        {
            // YamlDotNet's scanner gives up this way on a few constructs, without a position: point at the end.
            var (line, column) = YamlErrorLocation.End(text);
            throw new PipelineConfigurationException(new ConfigurationProblem(file, line, column, $"malformed YAML: {e.Message}"));
        }
        if (stream.Documents.Count == 0)
            throw new PipelineConfigurationException(new ConfigurationProblem(file, 1, 1, "the pipeline file is empty"));
        if (stream.Documents.Count > 1)
        {
            var second = stream.Documents[1].RootNode;
            throw new PipelineConfigurationException(new ConfigurationProblem(file, (int)second.Start.Line, (int)second.Start.Column,
                $"a second YAML document (after '---'): a pipeline file holds one document, and {stream.Documents.Count} were found"));
        }
        if (stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            var node = stream.Documents[0].RootNode;
            throw new PipelineConfigurationException(new ConfigurationProblem(file, (int)node.Start.Line, (int)node.Start.Column,
                "expected a mapping of pipeline keys (device, seed, encoder, ..., jobs) at the top level"));
        }
        return new PipelineYaml(file, root);
    }

    /// <summary>A problem located at <paramref name="node"/>: its line and column, or the argument that put it there.</summary>
    public ConfigurationProblem Problem(YamlNode? node, string message)
    {
        if (node == null) return new ConfigurationProblem(File, 0, 0, message);
        if (origins.TryGetValue(node, out var origin)) return new ConfigurationProblem(File, 0, 0, message, origin);
        return new ConfigurationProblem(File, (int)node.Start.Line, (int)node.Start.Column, message);
    }

    /// <summary>Records that <paramref name="node"/> (and everything under it) came from a command-line argument.</summary>
    internal void MarkOrigin(YamlNode node, string origin)
    {
        origins[node] = origin;
        foreach (var child in node.AllNodes.Skip(1)) origins[child] = origin;
    }

    /// <summary>The value node under <paramref name="key"/> of a mapping (keys compared without case, '_' or '-').</summary>
    public static YamlNode? ValueNode(YamlNode? node, string key) =>
        node is YamlMappingNode mapping
            ? mapping.Children.FirstOrDefault(kv => KeyNames.Normalize((kv.Key as YamlScalarNode)?.Value ?? "") == KeyNames.Normalize(key)).Value
            : null;

    /// <summary>The YAML text of the pipeline as it will run (overrides applied), for the run folder.</summary>
    public string Serialize()
    {
        var writer = new StringWriter();
        new YamlStream(new YamlDocument(Root)).Save(writer, assignAnchors: false);
        return writer.ToString().TrimEnd('.', '\n', '\r') + "\n";
    }
}
