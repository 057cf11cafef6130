using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace RaePipeline.Host.Configuration;

/// <summary>
/// Applies <c>path.to.key=value</c> to a pipeline: mappings along the path are created when missing; a numeric part
/// indexes a list; a part naming a job (<c>jobs.sample.num_images</c>) reaches every entry of that job, and
/// <c>jobs.sample[1].num_images</c> only the second one (counting from 0). The value is parsed as YAML, so
/// <c>[1, 2]</c> is a list. A path that cannot be applied is a problem naming the argument.
/// </summary>
static partial class OverridePath
{
    sealed record Part(string Name, int? Selector);

    public static void Apply(PipelineYaml yaml, PipelineOverride assignment)
    {
        int equals = assignment.Assignment.IndexOf('=');
        if (equals <= 0) throw Problem(yaml, assignment, "expected path.to.key=value");
        var parts = Parse(yaml, assignment, assignment.Assignment[..equals]);
        var value = ParseValue(assignment.Assignment[(equals + 1)..]);
        yaml.MarkOrigin(value, assignment.Origin);
        Apply(yaml, assignment, yaml.Root, parts, 0, value, selectorUsed: false);
    }

    static void Apply(PipelineYaml yaml, PipelineOverride assignment, YamlNode current, IReadOnlyList<Part> parts, int i,
        YamlNode value, bool selectorUsed)
    {
        var part = parts[i];
        bool last = i == parts.Count - 1;
        var where = string.Join('.', parts.Take(i).Select(p => p.Name));
        switch (current)
        {
            case YamlMappingNode mapping:
                if (part.Selector != null && !selectorUsed)
                    throw Problem(yaml, assignment, $"'{part.Name}[{part.Selector}]' selects an entry of a list, but '{where}' is a mapping");
                var key = mapping.Children.Keys.OfType<YamlScalarNode>()
                    .FirstOrDefault(k => KeyNames.Normalize(k.Value ?? "") == KeyNames.Normalize(part.Name));
                if (key == null)
                {
                    key = new YamlScalarNode(part.Name);
                    yaml.MarkOrigin(key, assignment.Origin);
                }
                if (last)
                {
                    mapping.Children[key] = value;
                    return;
                }
                if (!mapping.Children.TryGetValue(key, out var child) || child is not (YamlMappingNode or YamlSequenceNode))
                {
                    child = new YamlMappingNode();
                    yaml.MarkOrigin(child, assignment.Origin);
                    mapping.Children[key] = child;
                }
                Apply(yaml, assignment, child, parts, i + 1, value, selectorUsed: false);
                return;
            case YamlSequenceNode sequence when part.Selector == null && int.TryParse(part.Name, out var index):
                if (index < 0 || index >= sequence.Children.Count)
                    throw Problem(yaml, assignment, $"index {index} is outside the list '{where}' of {sequence.Children.Count}");
                if (last) sequence.Children[index] = value;
                else Apply(yaml, assignment, sequence.Children[index], parts, i + 1, value, selectorUsed: false);
                return;
            case YamlSequenceNode sequence:
                // A list of single-key mappings (jobs): the entries whose key is this part.
                var entries = sequence.Children.OfType<YamlMappingNode>().Where(m => m.Children.Keys.OfType<YamlScalarNode>()
                    .Any(k => KeyNames.Normalize(k.Value ?? "") == KeyNames.Normalize(part.Name))).ToList();
                if (entries.Count == 0)
                    throw Problem(yaml, assignment, $"no entry '{part.Name}' in the list '{where}'");
                if (part.Selector is { } selector)
                {
                    if (selector >= entries.Count)
                        throw Problem(yaml, assignment,
                            $"'{where}' has {entries.Count} '{part.Name}' {(entries.Count == 1 ? "entry" : "entries")}: [{selector}] is outside 0..{entries.Count - 1}");
                    entries = [entries[selector]];
                }
                foreach (var entry in entries)
                    Apply(yaml, assignment, entry, parts, i, value, selectorUsed: true); // the part now names the key inside the entry
                return;
            default:
                throw Problem(yaml, assignment, $"'{where}' is a value, not a mapping");
        }
    }

    static List<Part> Parse(PipelineYaml yaml, PipelineOverride assignment, string path)
    {
        var parts = new List<Part>();
        foreach (var text in path.Split('.'))
        {
            var match = PartPattern().Match(text);
            if (!match.Success)
                throw Problem(yaml, assignment, $"'{text}' is not a key (expected key or key[n] between the dots of '{path}')");
            parts.Add(new Part(match.Groups[1].Value,
                match.Groups[2].Success ? int.Parse(match.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture) : null));
        }
        return parts;
    }

    static YamlNode ParseValue(string text)
    {
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader("v: " + text));
            if (stream.Documents is [{ RootNode: YamlMappingNode { Children.Count: 1 } mapping }])
                return mapping.Children.Values.Single();
        }
        catch (Exception e) when (e is YamlException or InvalidOperationException or ArgumentException)
        {
        }
        return new YamlScalarNode(text); // not YAML on its own: the text as it is
    }

    static PipelineConfigurationException Problem(PipelineYaml yaml, PipelineOverride assignment, string message) =>
        new(new ConfigurationProblem(yaml.File, 0, 0, message, assignment.Origin));

    [GeneratedRegex(@"^([^\[\]]+)(?:\[(\d{1,6})\])?$")]
    private static partial Regex PartPattern();
}
