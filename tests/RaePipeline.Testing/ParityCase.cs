using System.Text.Json.Nodes;
using RaePipeline.Weights;
using static TorchSharp.torch;

namespace RaePipeline.Testing;

/// <summary>One case folder of the parity kit: case.json (every scalar) and case.safetensors (inputs and outputs).</summary>
public sealed class ParityCase : IDisposable
{
    readonly Dictionary<string, Tensor> tensors;

    public ParityCase(string folder)
    {
        Folder = folder;
        Json = JsonNode.Parse(File.ReadAllText(System.IO.Path.Combine(folder, "case.json")))!.AsObject();
        tensors = SafeTensorsFile.Read(System.IO.Path.Combine(folder, "case.safetensors"));
    }

    public string Folder { get; }

    public JsonObject Json { get; }

    public string Path(string file) => System.IO.Path.GetFullPath(System.IO.Path.Combine(Folder, file));

    public Tensor this[string name] => tensors.TryGetValue(name, out var t)
        ? t
        : throw new KeyNotFoundException($"{Folder}/case.safetensors has no tensor '{name}' (has: {string.Join(", ", tensors.Keys)})");

    public bool Has(string name) => tensors.ContainsKey(name);

    public IEnumerable<string> Names => tensors.Keys;

    /// <summary>A scalar or array from case.json by a path like <c>params/hidden_size</c>.</summary>
    public JsonNode Get(string path)
    {
        JsonNode? node = Json;
        foreach (var part in path.Split('/'))
            node = node?[part];
        return node ?? throw new KeyNotFoundException($"{Folder}/case.json has no '{path}'");
    }

    public T Get<T>(string path) => Get(path).GetValue<T>();

    public T[] GetArray<T>(string path) => Get(path).AsArray().Select(n => n!.GetValue<T>()).ToArray();

    /// <summary>Extra tensors from another safetensors file of the case folder.</summary>
    public Dictionary<string, Tensor> ReadSafeTensors(string file) => SafeTensorsFile.Read(Path(file));

    public void Dispose()
    {
        foreach (var t in tensors.Values) t.Dispose();
    }
}
