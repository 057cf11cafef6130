using RaePipeline.Abstractions;
using RaePipeline.Weights;
using static TorchSharp.torch;

namespace RaePipeline.Decoders.VitDecoder;

/// <summary>
/// Reads decoder weights as released and as trained: a raw GeneralDecoder state dict (<c>model.pt</c>,
/// <c>.safetensors</c>), a folder holding one, or an official training checkpoint whose <c>ema</c> holds the whole
/// RAE (<c>decoder.*</c> keys, possibly under <c>module.</c> / <c>_orig_mod.</c> wrappers, which
/// <c>extract_decoder.py</c> strips as well).
/// </summary>
public static class DecoderCheckpoint
{
    const string ProbeKey = "decoder_embed.weight";

    public static void Load(GeneralDecoder decoder, string weightsPath)
    {
        var file = WeightsFile(weightsPath);
        Dictionary<string, Tensor> raw;
        try
        {
            raw = WeightFiles.ReadStateDict(file);
        }
        catch (WeightsFormatException e)
        {
            throw new ComponentConfigurationException($"'{VitDecoderRegistrar.Name}': {e.Message}", "weights", file);
        }
        try
        {
            var stateDict = raw.ToDictionary(kv => Unwrap(kv.Key), kv => kv.Value, StringComparer.Ordinal);
            string prefix = stateDict.ContainsKey(ProbeKey) ? "" : stateDict.ContainsKey("decoder." + ProbeKey) ? "decoder." : "";
            StateDictLoader.Load(decoder, stateDict, file, prefix,
                prefix.Length == 0 ? null : key => !key.StartsWith(prefix, StringComparison.Ordinal));
        }
        catch (WeightsFormatException e)
        {
            throw new ComponentConfigurationException($"'{VitDecoderRegistrar.Name}': {e.Message}", "weights", file);
        }
        finally
        {
            foreach (var tensor in raw.Values) tensor.Dispose();
        }
    }

    /// <summary>A folder's weights file: model.safetensors (or shards / pytorch_model.bin, read by WeightFiles) or model.pt.</summary>
    static string WeightsFile(string weightsPath)
    {
        if (!Directory.Exists(weightsPath)) return weightsPath;
        foreach (var name in new[] { "model.safetensors", "model.safetensors.index.json", "pytorch_model.bin" })
            if (File.Exists(Path.Combine(weightsPath, name))) return weightsPath;
        var pt = Path.Combine(weightsPath, "model.pt");
        if (File.Exists(pt)) return pt;
        throw new ComponentConfigurationException(
            $"decoder weights folder {weightsPath} has none of model.safetensors, model.safetensors.index.json, pytorch_model.bin, model.pt",
            "weights", weightsPath);
    }

    /// <summary>Drops the <c>module</c> (DDP) and <c>_orig_mod</c> (torch.compile) path segments of a key.</summary>
    static string Unwrap(string key) =>
        string.Join('.', key.Split('.').Where(segment => segment is not ("module" or "_orig_mod")));
}
