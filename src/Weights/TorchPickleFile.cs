using System.Collections;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace RaePipeline.Weights;

/// <summary>
/// PyTorch <c>torch.save</c> files (zip container with a pickle). Unpickling maps known globals to constructors
/// and never runs Python code; the structure is then checked against what the caller expects.
/// </summary>
public static class TorchPickleFile
{
    /// <summary>The unpickled top-level dictionary (Hashtable or ordered dictionary).</summary>
    public static IDictionary ReadDictionary(string path)
    {
        if (!File.Exists(path)) throw new WeightsFormatException($"PyTorch file not found: {path}", path);
        object result;
        try
        {
            result = PyTorchUnpickler.UnpickleStateDict(path);
        }
        catch (Exception e)
        {
            throw new WeightsFormatException($"{path}: cannot read as a PyTorch torch.save file: {e.Message}", path, e);
        }
        return result as IDictionary
               ?? throw new WeightsFormatException($"{path}: expected a dictionary at the top level, found {result?.GetType().Name ?? "None"}", path);
    }

    /// <summary>A dictionary of tensors found at <paramref name="key"/> (or the top level when null).</summary>
    public static Dictionary<string, Tensor> ReadTensors(string path, string? key = null)
    {
        var top = ReadDictionary(path);
        var dictionary = top;
        if (key != null)
        {
            if (!top.Contains(key))
                throw new WeightsFormatException($"{path}: no entry '{key}' (found: {string.Join(", ", top.Keys.Cast<object>())})", path);
            dictionary = top[key] as IDictionary
                         ?? throw new WeightsFormatException($"{path}: entry '{key}' is not a dictionary of tensors", path);
        }
        return ToTensors(dictionary, path);
    }

    public static Dictionary<string, Tensor> ToTensors(IDictionary dictionary, string path)
    {
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in dictionary)
        {
            if (entry.Value is not Tensor tensor)
                throw new WeightsFormatException(
                    $"{path}: entry '{entry.Key}' is a {entry.Value?.GetType().Name ?? "None"}, expected a tensor", path);
            result[(string)entry.Key] = tensor;
        }
        return result;
    }
}
