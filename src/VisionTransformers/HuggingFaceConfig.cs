using System.Text.Json;
using System.Text.Json.Nodes;
using RaePipeline.Abstractions;

namespace RaePipeline.VisionTransformers;

/// <summary>
/// A HuggingFace <c>config.json</c> (or a section of it, such as SigLIP's <c>vision_config</c>) with typed reads
/// whose errors name the file and the field.
/// </summary>
public sealed class HuggingFaceConfig
{
    readonly JsonObject json;
    readonly string section;

    HuggingFaceConfig(JsonObject json, string filePath, string section)
    {
        this.json = json;
        FilePath = filePath;
        this.section = section;
    }

    public string FilePath { get; }

    /// <summary>
    /// Reads <c>config.json</c> of a model: <paramref name="folderOrFile"/> is the model folder, a weights file inside
    /// it (the config sits next to it) or the JSON file itself.
    /// </summary>
    public static HuggingFaceConfig Read(string folderOrFile)
    {
        var path = Directory.Exists(folderOrFile) ? Path.Combine(folderOrFile, "config.json")
            : folderOrFile.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? folderOrFile
            : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(folderOrFile))!, "config.json");
        if (!File.Exists(path))
            throw new ComponentConfigurationException(
                Directory.Exists(folderOrFile)
                    ? $"model folder {folderOrFile} has no config.json (expected a HuggingFace model folder: config.json plus weights)"
                    : $"config file not found: {path} (needed to know the architecture of {folderOrFile})",
                "weights", path);
        try
        {
            return new HuggingFaceConfig(
                JsonNode.Parse(File.ReadAllText(path))?.AsObject()
                ?? throw new ComponentConfigurationException($"{path}: empty JSON", "weights", path),
                path, "");
        }
        catch (JsonException e)
        {
            throw new ComponentConfigurationException($"{path}: not valid JSON: {e.Message}", "weights", path);
        }
    }

    public HuggingFaceConfig Section(string name) =>
        json[name] is JsonObject inner
            ? new HuggingFaceConfig(inner, FilePath, section + name + ".")
            : throw new ComponentConfigurationException($"{FilePath}: no '{section}{name}' section", "weights", FilePath);

    public bool Has(string key) => json[key] != null;

    public string? ModelType => json["model_type"]?.GetValue<string>();

    /// <summary>Fails unless <c>model_type</c> is one of <paramref name="expected"/>, naming what was found.</summary>
    public void RequireModelType(string componentName, params string[] expected)
    {
        var found = ModelType;
        if (found == null || !expected.Contains(found))
            throw new ComponentConfigurationException(
                $"{FilePath}: model_type is {(found == null ? "missing" : $"'{found}'")}, but the '{componentName}' component " +
                $"expects {string.Join(" or ", expected.Select(e => $"'{e}'"))}",
                "weights", FilePath);
    }

    public int Int(string key) => Read(key, n => n.GetValue<int>());

    public double Double(string key) => Read(key, n => n.GetValue<double>());

    public string String(string key) => Read(key, n => n.GetValue<string>());

    public bool Bool(string key) => Read(key, n => n.GetValue<bool>());

    public int Int(string key, int fallback) => Has(key) ? Int(key) : fallback;

    public double Double(string key, double fallback) => Has(key) ? Double(key) : fallback;

    public string String(string key, string fallback) => Has(key) ? String(key) : fallback;

    public bool Bool(string key, bool fallback) => Has(key) ? Bool(key) : fallback;

    /// <summary><c>hidden_act</c> as a supported activation.</summary>
    public FeedForwardActivation Activation(string key = "hidden_act", string fallback = "gelu")
    {
        var name = String(key, fallback);
        return FeedForwardActivations.FromHuggingFace(name)
               ?? throw new ComponentConfigurationException(
                   $"{FilePath}: {section}{key} '{name}' is not supported (expected gelu, gelu_pytorch_tanh or gelu_new)",
                   "weights", FilePath);
    }

    T Read<T>(string key, Func<JsonNode, T> read)
    {
        var node = json[key] ?? throw new ComponentConfigurationException(
            $"{FilePath}: missing field '{section}{key}'", "weights", FilePath);
        try
        {
            return read(node);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            throw new ComponentConfigurationException(
                $"{FilePath}: field '{section}{key}' is {node.ToJsonString()}, expected a {typeof(T).Name}", "weights", FilePath);
        }
    }
}
