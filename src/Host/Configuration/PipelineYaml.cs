using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace RaePipeline.Host.Configuration;

/// <summary>
/// A pipeline file parsed into YAML nodes that remember their line and column, with <c>--set path.to.key=value</c>
/// overrides applied.
/// </summary>
public sealed class PipelineYaml
{
    PipelineYaml(string file, YamlMappingNode root)
    {
        File = file;
        Root = root;
    }

    /// <summary>Absolute path of the pipeline file.</summary>
    public string File { get; }

    public string Directory => Path.GetDirectoryName(File)!;

    public YamlMappingNode Root { get; }

    public static PipelineYaml Load(string path, IEnumerable<string>? overrides = null)
    {
        var file = Path.GetFullPath(path);
        if (!System.IO.File.Exists(file))
            throw new PipelineConfigurationException(new ConfigurationProblem(file, 0, 0, "pipeline file not found"));
        var yaml = Parse(file, System.IO.File.ReadAllText(file));
        foreach (var assignment in overrides ?? []) yaml.ApplyOverride(assignment);
        return yaml;
    }

    public static PipelineYaml Parse(string file, string text)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            var reason = e.InnerException?.Message ?? e.Message;
            throw new PipelineConfigurationException(new ConfigurationProblem(file, (int)e.Start.Line, (int)e.Start.Column,
                $"malformed YAML: {StripLocation(reason)}"));
        }
        catch (InvalidOperationException e)
        {
            // YamlDotNet's scanner gives up this way on some unterminated constructs, without a position.
            throw new PipelineConfigurationException(new ConfigurationProblem(file, 0, 0, $"malformed YAML: {e.Message}"));
        }
        if (stream.Documents.Count == 0)
            throw new PipelineConfigurationException(new ConfigurationProblem(file, 1, 1, "the pipeline file is empty"));
        if (stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            var node = stream.Documents[0].RootNode;
            throw new PipelineConfigurationException(new ConfigurationProblem(file, (int)node.Start.Line, (int)node.Start.Column,
                "expected a mapping of pipeline keys (device, seed, encoder, ..., jobs) at the top level"));
        }
        return new PipelineYaml(file, root);
    }

    public ConfigurationProblem Problem(YamlNode? node, string message) =>
        node == null ? new ConfigurationProblem(File, 0, 0, message)
            : new ConfigurationProblem(File, (int)node.Start.Line, (int)node.Start.Column, message);

    /// <summary>
    /// Applies <c>path.to.key=value</c>: mappings along the path are created when missing; a numeric part indexes a
    /// sequence; a part naming a job (<c>jobs.train.steps</c>) finds that job's entry. The value is parsed as YAML, so
    /// <c>[1, 2]</c> is a list.
    /// </summary>
    public void ApplyOverride(string assignment)
    {
        int equals = assignment.IndexOf('=');
        if (equals <= 0)
            throw new PipelineConfigurationException(new ConfigurationProblem(File, 0, 0,
                $"--set '{assignment}': expected path.to.key=value"));
        var parts = assignment[..equals].Split('.');
        var valueText = assignment[(equals + 1)..];
        YamlNode value;
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader("v: " + valueText));
            value = ((YamlMappingNode)stream.Documents[0].RootNode).Children[new YamlScalarNode("v")];
        }
        catch (YamlException)
        {
            value = new YamlScalarNode(valueText);
        }
        YamlNode current = Root;
        for (int i = 0; i < parts.Length; i++)
        {
            bool last = i == parts.Length - 1;
            var part = parts[i];
            switch (current)
            {
                case YamlMappingNode mapping:
                    var key = mapping.Children.Keys.OfType<YamlScalarNode>()
                        .FirstOrDefault(k => KeyNames.Normalize(k.Value ?? "") == KeyNames.Normalize(part));
                    if (last)
                    {
                        mapping.Children[key ?? new YamlScalarNode(part)] = value;
                        return;
                    }
                    if (key == null || mapping.Children[key] is not (YamlMappingNode or YamlSequenceNode))
                    {
                        var created = new YamlMappingNode();
                        mapping.Children[key ?? new YamlScalarNode(part)] = created;
                        current = created;
                    }
                    else current = mapping.Children[key];
                    break;
                case YamlSequenceNode sequence when int.TryParse(part, out var index):
                    if (index < 0 || index >= sequence.Children.Count)
                        throw new PipelineConfigurationException(new ConfigurationProblem(File, 0, 0,
                            $"--set '{assignment}': index {index} is outside the list of {sequence.Children.Count}"));
                    if (last)
                    {
                        sequence.Children[index] = value;
                        return;
                    }
                    current = sequence.Children[index];
                    break;
                case YamlSequenceNode sequence:
                    // A list of single-key mappings (jobs): find the entry whose key is this part.
                    var entry = sequence.Children.OfType<YamlMappingNode>().FirstOrDefault(m =>
                        m.Children.Keys.OfType<YamlScalarNode>().Any(k => KeyNames.Normalize(k.Value ?? "") == KeyNames.Normalize(part)));
                    if (entry == null)
                        throw new PipelineConfigurationException(new ConfigurationProblem(File, 0, 0,
                            $"--set '{assignment}': no entry '{part}' in the list"));
                    current = entry;
                    i--; // the same part now names the key inside the entry
                    break;
                default:
                    throw new PipelineConfigurationException(new ConfigurationProblem(File, 0, 0,
                        $"--set '{assignment}': '{string.Join('.', parts[..i])}' is a value, not a mapping"));
            }
        }
    }

    /// <summary>The YAML text of the pipeline as it will run (overrides applied), for the run folder.</summary>
    public string Serialize()
    {
        var writer = new StringWriter();
        new YamlStream(new YamlDocument(Root)).Save(writer, assignAnchors: false);
        return writer.ToString().TrimEnd('.', '\n', '\r') + "\n";
    }

    static string StripLocation(string message)
    {
        int paren = message.IndexOf("): ", StringComparison.Ordinal);
        return message.StartsWith('(') && paren > 0 ? message[(paren + 3)..] : message;
    }
}
