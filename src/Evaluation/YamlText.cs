using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace RaePipeline.Evaluation;

/// <summary>YAML nodes as one-line override text: scalars as written, lists and mappings in flow style.</summary>
public static class YamlText
{
    public static string Of(YamlNode node)
    {
        if (node is YamlScalarNode scalar) return scalar.Value ?? "";
        var writer = new StringWriter();
        var emitter = new Emitter(writer, new EmitterSettings().WithBestWidth(int.MaxValue));
        emitter.Emit(new StreamStart());
        emitter.Emit(new DocumentStart(null, null, isImplicit: true));
        Emit(emitter, node);
        emitter.Emit(new DocumentEnd(isImplicit: true));
        emitter.Emit(new StreamEnd());
        return writer.ToString().Trim().TrimEnd('.').Trim();
    }

    static void Emit(IEmitter emitter, YamlNode node)
    {
        switch (node)
        {
            case YamlScalarNode scalar:
                bool empty = string.IsNullOrEmpty(scalar.Value) && scalar.Style is ScalarStyle.Any or ScalarStyle.Plain;
                emitter.Emit(new Scalar(null, null, empty ? "~" : scalar.Value ?? "", empty ? ScalarStyle.Plain : scalar.Style, true, true));
                break;
            case YamlSequenceNode sequence:
                emitter.Emit(new SequenceStart(null, null, true, SequenceStyle.Flow));
                foreach (var child in sequence.Children) Emit(emitter, child);
                emitter.Emit(new SequenceEnd());
                break;
            case YamlMappingNode mapping:
                emitter.Emit(new MappingStart(null, null, true, MappingStyle.Flow));
                foreach (var (key, value) in mapping.Children)
                {
                    Emit(emitter, key);
                    Emit(emitter, value);
                }
                emitter.Emit(new MappingEnd());
                break;
            default:
                throw new ArgumentException($"YAML aliases are not supported in a compare matrix (at line {node.Start.Line})");
        }
    }
}
