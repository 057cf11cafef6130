using YamlDotNet.RepresentationModel;

namespace RaePipeline.Evaluation;

/// <summary>
/// One value of a compare matrix entry: the YAML text its override sets (<c>key=text</c>) and an optional short
/// label naming it in run names, tables and chart legends.
/// <list type="bullet">
/// <item>a scalar is YAML text as on the command line (<c>224</c>, <c>heun</c>, <c>"[0.0, 0.7]"</c> for a list);</item>
/// <item>a list or a mapping is passed on whole, so <c>encoder: [{ name: onnx, weights: r18.onnx }]</c> replaces the
/// pipeline's whole <c>encoder</c> block;</item>
/// <item>a mapping with a <c>label</c> is labelled: the label is taken out and the rest is the value, or, when the
/// rest is a single <c>value</c> key, that key's value (<c>{ label: fast, value: 10 }</c>).</item>
/// </list>
/// </summary>
public sealed record MatrixValue(string Text, string? Label)
{
    const string LabelKey = "label";
    const string ValueKey = "value";

    /// <summary>What tables and legends show: the label, else the value's text.</summary>
    public string Display => Label ?? Text;

    /// <param name="key">The matrix entry's override path, for messages.</param>
    public static MatrixValue From(YamlNode node, string key)
    {
        if (node is not YamlMappingNode mapping || !mapping.Children.ContainsKey(new YamlScalarNode(LabelKey)))
            return new MatrixValue(YamlText.Of(node), null);
        var label = (mapping.Children[new YamlScalarNode(LabelKey)] as YamlScalarNode)?.Value;
        if (string.IsNullOrWhiteSpace(label))
            throw new ArgumentException($"matrix entry '{key}': a label must be a short non-empty text");
        var rest = mapping.Children.Where(kv => (kv.Key as YamlScalarNode)?.Value != LabelKey).ToList();
        if (rest.Count == 0)
            throw new ArgumentException($"matrix entry '{key}': the value labelled '{label}' has nothing else: give '{ValueKey}:' or the block's keys beside '{LabelKey}:'");
        var value = rest is [{ Key: YamlScalarNode { Value: ValueKey } } only] ? only.Value : new YamlMappingNode(rest);
        return new MatrixValue(YamlText.Of(value), label);
    }
}
