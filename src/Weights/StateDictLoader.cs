using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Weights;

/// <summary>Copies a state dict into a module by key, refusing missing, unexpected or mis-shaped tensors by name.</summary>
public static class StateDictLoader
{
    /// <summary>
    /// Loads <paramref name="source"/> into <paramref name="module"/>. Keys of the source that start with
    /// <paramref name="stripPrefix"/> are matched without it; source keys outside the module are an error unless
    /// <paramref name="ignoreUnexpected"/> says so (for example a SigLIP text tower or an MAE pre-training decoder).
    /// Every module key must be present with the right shape and finite values; values are converted to the module's dtype.
    /// </summary>
    public static void Load(nn.Module module, IReadOnlyDictionary<string, Tensor> source, string sourceName,
        string stripPrefix = "", Func<string, bool>? ignoreUnexpected = null)
    {
        var target = module.state_dict();
        var missing = new List<string>();
        var misShaped = new List<string>();
        var nonFinite = new List<string>();
        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, tensor) in target)
        {
            var key = stripPrefix + name;
            if (!source.TryGetValue(key, out var value))
            {
                missing.Add(key);
                continue;
            }
            used.Add(key);
            if (!value.shape.SequenceEqual(tensor.shape))
                misShaped.Add($"{key}: expected [{string.Join(", ", tensor.shape)}], found [{string.Join(", ", value.shape)}]");
            else if (FiniteValues.Describe(value) is { } found)
                nonFinite.Add($"{key} ({found})");
        }
        var unexpected = source.Keys
            .Where(k => !used.Contains(k) && !(ignoreUnexpected?.Invoke(k) ?? false))
            .OrderBy(k => k, StringComparer.Ordinal).ToList();
        if (missing.Count > 0 || misShaped.Count > 0 || unexpected.Count > 0 || nonFinite.Count > 0)
        {
            var parts = new List<string>();
            if (missing.Count > 0) parts.Add($"missing keys ({missing.Count}): {Summarize(missing)}");
            if (misShaped.Count > 0) parts.Add($"mis-shaped tensors ({misShaped.Count}): {Summarize(misShaped)}");
            if (unexpected.Count > 0) parts.Add($"unexpected keys ({unexpected.Count}): {Summarize(unexpected)}");
            if (nonFinite.Count > 0) parts.Add($"tensors with NaN or infinite values ({nonFinite.Count}): {Summarize(nonFinite)}");
            throw new WeightsFormatException($"{sourceName} cannot be loaded into {module.GetName()}: {string.Join("; ", parts)}", sourceName);
        }
        using var noGrad = torch.no_grad();
        foreach (var (name, tensor) in target)
        {
            var value = source[stripPrefix + name];
            tensor.copy_(value.to(tensor.dtype, tensor.device));
        }
    }

    static string Summarize(List<string> items) =>
        items.Count <= 12 ? string.Join(", ", items) : string.Join(", ", items.Take(12)) + $", ... ({items.Count - 12} more)";
}
