using System.Globalization;
using RaePipeline.Abstractions;
using YamlDotNet.Core;
using YamlDotNet.Serialization;

namespace RaePipeline.Backbones.DiffusionTransformers;

/// <summary>
/// The <c>stage_2</c> block of an official RAE YAML (<c>{target, params, ckpt}</c>, as the training and sampling
/// configs and the parity kit's model.yaml have it). <see cref="Checkpoint"/> is resolved against the YAML's folder.
/// </summary>
public sealed class OfficialModelConfig
{
    public required string FilePath { get; init; }
    public required string Target { get; init; }
    public required IReadOnlyDictionary<string, object?> Params { get; init; }
    public string? Checkpoint { get; init; }

    public static OfficialModelConfig Read(string path)
    {
        if (!File.Exists(path))
            throw new ComponentConfigurationException($"config file not found: {path}", "config", path);
        object? root;
        try
        {
            root = new DeserializerBuilder().Build().Deserialize<object?>(File.ReadAllText(path));
        }
        catch (YamlException e)
        {
            throw new ComponentConfigurationException($"{path}: not valid YAML ({e.Start}): {e.Message}", "config", path);
        }
        var stage2 = Map(Map(root, path, "the top level")?.GetValueOrDefault("stage_2"), path, "stage_2")
                     ?? throw new ComponentConfigurationException($"{path}: no 'stage_2' block", "config", path);
        var target = stage2.GetValueOrDefault("target") as string
                     ?? throw new ComponentConfigurationException($"{path}: stage_2 has no 'target'", "config", path);
        var parameters = Map(stage2.GetValueOrDefault("params"), path, "stage_2.params") ?? new Dictionary<string, object?>();
        var checkpoint = stage2.GetValueOrDefault("ckpt") as string;
        if (checkpoint is { Length: > 0 } && !Path.IsPathRooted(checkpoint))
            checkpoint = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, checkpoint));
        return new OfficialModelConfig
        {
            FilePath = path, Target = target, Params = parameters,
            Checkpoint = checkpoint is { Length: > 0 } ? checkpoint : null,
        };
    }

    public int? Int(string key) => Scalar(key, s => int.Parse(s, CultureInfo.InvariantCulture), "an integer");

    public double? Double(string key) => Scalar(key, s => double.Parse(s, CultureInfo.InvariantCulture), "a number");

    public bool? Bool(string key) => Scalar(key, s => s.ToLowerInvariant() switch
    {
        "true" => true,
        "false" => false,
        _ => throw new FormatException(),
    }, "true or false");

    /// <summary>An integer or a list of integers (DiT^DH's <c>[backbone, head]</c> sizes).</summary>
    public int[]? Ints(string key)
    {
        if (!Params.TryGetValue(key, out var value) || value is null) return null;
        if (value is List<object> list)
            return list.Select((item, i) => Parse(item as string, $"{key}[{i}]", s => int.Parse(s, CultureInfo.InvariantCulture), "an integer")).ToArray();
        return [Int(key)!.Value];
    }

    T? Scalar<T>(string key, Func<string, T> parse, string expected) where T : struct
    {
        if (!Params.TryGetValue(key, out var value) || value is null) return null;
        if (value is not string text)
            throw new ComponentConfigurationException(
                $"{FilePath}: stage_2.params.{key} must be {expected}, found a {(value is List<object> ? "list" : "mapping")}", "config", FilePath);
        return Parse(text, key, parse, expected);
    }

    T Parse<T>(string? text, string key, Func<string, T> parse, string expected)
    {
        try
        {
            return parse(text ?? "");
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            throw new ComponentConfigurationException(
                $"{FilePath}: stage_2.params.{key} must be {expected}, found '{text}'", "config", FilePath);
        }
    }

    static Dictionary<string, object?>? Map(object? node, string path, string where) => node switch
    {
        null => null,
        Dictionary<object, object?> map => map.ToDictionary(kv => kv.Key.ToString()!, kv => kv.Value),
        _ => throw new ComponentConfigurationException($"{path}: {where} must be a mapping", "config", path),
    };
}
