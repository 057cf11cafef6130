using RaePipeline.Abstractions;

namespace RaePipeline.Encoders.Onnx;

/// <summary>
/// An .onnx file and its graph. The bytes are not kept (a big export would stay in memory twice beside its
/// session): <see cref="ReadBytes"/> reads them again when a session is built.
/// </summary>
public sealed class OnnxModelFile
{
    OnnxModelFile(string path, OnnxGraph graph)
    {
        Path = path;
        Graph = graph;
    }

    public string Path { get; }

    public OnnxGraph Graph { get; }

    public byte[] ReadBytes() => File.ReadAllBytes(Path);

    /// <summary>Reads and parses <paramref name="path"/>; a missing or malformed file names the path and the option that gave it.</summary>
    public static OnnxModelFile Read(string path, string optionKey)
    {
        if (!File.Exists(path))
            throw new ComponentConfigurationException($"ONNX model file not found: {path}", optionKey, path);
        var bytes = File.ReadAllBytes(path);
        try
        {
            return new OnnxModelFile(path, OnnxGraph.Parse(bytes, path));
        }
        catch (InvalidDataException e)
        {
            throw new ComponentConfigurationException($"{path}: not an ONNX model ({e.Message})", optionKey, path);
        }
    }

    /// <summary>The image input: the one named <paramref name="name"/>, or the graph's only input.</summary>
    public OnnxValue Input(string? name, string optionKey)
    {
        var inputs = Graph.Inputs;
        var listing = string.Join(", ", inputs.Select(i => $"{i.Name} {i.ShapeText}"));
        if (name == null)
            return inputs.Count == 1 ? inputs[0] : throw new ComponentConfigurationException(
                $"{Path}: the graph has {inputs.Count} inputs ({listing}); set `{optionKey}` to the image input", optionKey, Path);
        return inputs.FirstOrDefault(i => i.Name == name) ?? throw new ComponentConfigurationException(
            $"{Path}: the graph has no input '{name}' (inputs: {listing})", optionKey, Path);
    }
}
