using RaePipeline.Abstractions;
using RaePipeline.Weights;
using static TorchSharp.torch;

namespace RaePipeline.VisionTransformers;

/// <summary>
/// Loads a HuggingFace checkpoint (folder or file) into a module whose keys are a sub-tree of the file's keys.
/// The sub-tree's prefix is found by probing (e.g. <c>vit.</c> in ViTMAEForPreTraining, none in ViTMAEModel);
/// keys outside it and keys the caller declares unused are ignored; missing or mis-shaped keys fail with a
/// <see cref="ComponentConfigurationException"/> naming them and the file.
/// </summary>
public static class CheckpointLoading
{
    public static void Load(nn.Module module, string weightsPath, string componentName, string probeKey,
        IReadOnlyList<string> prefixes, Func<string, bool> unusedInsidePrefix)
    {
        Dictionary<string, Tensor> stateDict;
        try
        {
            stateDict = WeightFiles.ReadStateDict(weightsPath);
        }
        catch (WeightsFormatException e)
        {
            throw new ComponentConfigurationException($"'{componentName}': {e.Message}", "weights", e.FilePath ?? weightsPath);
        }
        try
        {
            var prefix = prefixes.FirstOrDefault(p => stateDict.ContainsKey(p + probeKey)) ?? prefixes[0];
            StateDictLoader.Load(module, stateDict, DescribeSource(weightsPath), prefix,
                key => !key.StartsWith(prefix, StringComparison.Ordinal) || unusedInsidePrefix(key[prefix.Length..]));
        }
        catch (WeightsFormatException e)
        {
            throw new ComponentConfigurationException($"'{componentName}': {e.Message}", "weights", weightsPath);
        }
        finally
        {
            foreach (var tensor in stateDict.Values) tensor.Dispose();
        }
    }

    /// <summary>The file a folder's weights come from, for messages.</summary>
    public static string DescribeSource(string weightsPath)
    {
        if (!Directory.Exists(weightsPath)) return weightsPath;
        foreach (var name in new[] { "model.safetensors", "model.safetensors.index.json", "pytorch_model.bin" })
        {
            var candidate = Path.Combine(weightsPath, name);
            if (File.Exists(candidate)) return candidate;
        }
        return weightsPath;
    }
}
