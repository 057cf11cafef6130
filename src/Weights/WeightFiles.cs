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
        var top = TorchPickleFile.ReadDictionary(path);
        bool isCheckpoint = top.Contains("model") || top.Contains("ema");
        if (!isCheckpoint) return TorchPickleFile.ToTensors(top, path);
        var key = entry == CheckpointEntry.Ema ? "ema" : "model";
        if (!top.Contains(key))
            throw new WeightsFormatException(
                $"{path}: training checkpoint has no '{key}' entry (found: {string.Join(", ", top.Keys.Cast<object>())})", path);
        return TorchPickleFile.ReadTensors(path, key);
    }

    static Dictionary<string, Tensor> ReadFolder(string folder)
    {
        var single = Path.Combine(folder, "model.safetensors");
        if (File.Exists(single)) return SafeTensorsFile.Read(single);
        var index = Path.Combine(folder, "model.safetensors.index.json");
        if (File.Exists(index))
        {
            var map = JsonNode.Parse(File.ReadAllText(index))?["weight_map"]?.AsObject()
                      ?? throw new WeightsFormatException($"{index}: no weight_map", index);
            var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            foreach (var shard in map.Select(kv => kv.Value!.GetValue<string>()).Distinct())
                foreach (var (name, tensor) in SafeTensorsFile.Read(Path.Combine(folder, shard)))
                    result[name] = tensor;
            return result;
        }
        var bin = Path.Combine(folder, "pytorch_model.bin");
        if (File.Exists(bin)) return TorchPickleFile.ReadTensors(bin);
        throw new WeightsFormatException(
            $"{folder}: no weights found (expected model.safetensors, model.safetensors.index.json or pytorch_model.bin)", folder);
    }
}
