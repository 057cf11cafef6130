using System.Text.Json;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace RaePipeline.Weights;

/// <summary>
/// Reads a state dict from what users have on disk: a <c>.safetensors</c> file, a PyTorch <c>.pt/.pth/.bin</c>
/// file (a raw state dict, or a training checkpoint with <c>ema</c>/<c>model</c>), or a HuggingFace model folder
/// (<c>model.safetensors</c>, sharded <c>model.safetensors.index.json</c>, or <c>pytorch_model.bin</c>).
/// </summary>
public static class WeightFiles
{
    /// <summary>Which entry of a training checkpoint to take.</summary>
    public enum CheckpointEntry { Ema, Model }

    public static Dictionary<string, Tensor> ReadStateDict(string path, CheckpointEntry entry = CheckpointEntry.Ema)
    {
        if (Directory.Exists(path)) return ReadFolder(path);
        if (!File.Exists(path)) throw new WeightsFormatException($"weights not found: {path}", path);
        var extension = Path.GetExtension(path).ToLowerInvariant();
        if (extension == ".safetensors") return SafeTensorsFile.Read(path);
        if (extension is ".pt" or ".pth" or ".bin" or ".ckpt") return ReadPickledStateDict(path, entry);
        throw new WeightsFormatException(
            $"{path}: unknown weights format '{extension}' (expected .safetensors, .pt, .pth, .bin or a model folder)", path);
    }

    /// <summary>
    /// A raw state dict, or the <c>ema</c> (default) or <c>model</c> entry of an official training checkpoint
    /// (<c>{"step", "epoch", "model", "ema", ...}</c>).
    /// </summary>
    static Dictionary<string, Tensor> ReadPickledStateDict(string path, CheckpointEntry entry)
    {
        using var file = TorchPickleFile.Open(path);
        var top = file.RootDictionary("a state dict or a training checkpoint");
        bool isCheckpoint = top.Contains("model") || top.Contains("ema");
        if (!isCheckpoint) return file.ReadTensors(top);
        var key = entry == CheckpointEntry.Ema ? "ema" : "model";
        if (!top.TryGetValue(key, out var stateDict))
            throw new WeightsFormatException($"{path}: training checkpoint has no '{key}' entry (found {top.DescribeKeys()})", path);
        return file.ReadTensors(stateDict as PickleDictionary
                                ?? throw new WeightsFormatException(
                                    $"{path}: entry '{key}' is {TorchPickle.Describe(stateDict)}, expected a state dict", path), key);
    }

    static Dictionary<string, Tensor> ReadFolder(string folder)
    {
        var single = Path.Combine(folder, "model.safetensors");
        if (File.Exists(single)) return SafeTensorsFile.Read(single);
        var index = Path.Combine(folder, "model.safetensors.index.json");
        if (File.Exists(index))
        {
            var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            try
            {
                foreach (var shard in ShardNames(index))
                    foreach (var (name, tensor) in SafeTensorsFile.Read(Path.Combine(folder, shard)))
                        result[name] = tensor;
                return result;
            }
            catch
            {
                foreach (var tensor in result.Values) tensor.Dispose();
                throw;
            }
        }
        var bin = Path.Combine(folder, "pytorch_model.bin");
        if (File.Exists(bin)) return TorchPickleFile.ReadTensors(bin);
        throw new WeightsFormatException(
            $"{folder}: no weights found (expected model.safetensors, model.safetensors.index.json or pytorch_model.bin)", folder);
    }

    /// <summary>The shard files named by a sharded checkpoint's <c>model.safetensors.index.json</c> (file names in its folder).</summary>
    static IEnumerable<string> ShardNames(string index)
    {
        JsonNode? weightMap;
        try
        {
            weightMap = JsonNode.Parse(File.ReadAllBytes(index))?["weight_map"];
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new WeightsFormatException($"{index}: not a safetensors index (a JSON object with a weight_map): {e.Message}", index, e);
        }
        if (weightMap is not JsonObject map)
            throw new WeightsFormatException($"{index}: no weight_map object (tensor name -> shard file)", index);
        var shards = new List<string>();
        foreach (var (tensor, shard) in map)
        {
            if (shard is not JsonValue value || !value.TryGetValue<string>(out var file) || file.Length == 0 ||
                file != Path.GetFileName(file) || file is "." or "..")
                throw new WeightsFormatException(
                    $"{index}: weight_map['{tensor}'] is {shard?.ToJsonString() ?? "null"}, expected the file name of a shard beside the index", index);
            if (!shards.Contains(file)) shards.Add(file);
        }
        return shards;
    }
}
