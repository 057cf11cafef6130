using RaePipeline.Abstractions;

namespace RaePipeline.Encoders.Onnx;

/// <summary>An .onnx file read whole: its bytes (what a session is built from) and its graph.</summary>
public sealed class OnnxModelFile
{
    OnnxModelFile(string path, byte[] bytes, OnnxGraph graph)
    {
        Path = path;
        Bytes = bytes;
        Graph = graph;
    }

    public string Path { get; }

    public byte[] Bytes { get; }

    public OnnxGraph Graph { get; }

    /// <summary>Reads and parses <paramref name="path"/>; a missing or malformed file names the path and the option that gave it.</summary>
    public static OnnxModelFile Read(string path, string optionKey)
    {
        if (!File.Exists(path))
            throw new ComponentConfigurationException($"ONNX model file not found: {path}", optionKey, path);
        var bytes = File.ReadAllBytes(path);
        try
        {
            return new OnnxModelFile(path, bytes, OnnxGraph.Parse(bytes, path));
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
