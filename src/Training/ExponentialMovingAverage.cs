using RaePipeline.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Training;

/// <summary>
/// An exponential moving average of a module's weights, as the official training scripts keep it: initialized as a
/// copy of the model, then after every optimizer step each parameter becomes
/// <c>ema = decay * ema + (1 - decay) * param</c> (<c>update_ema</c> of RAE/DiT). Buffers are not averaged but
/// copied from the model at each update (the official EMA keeps its deep-copied buffers, which are deterministic
/// tables there, so the two agree). <see cref="StateDict"/> has exactly the model's state-dict keys, so it is
/// saved and loaded like the model's weights.
/// </summary>
public sealed class ExponentialMovingAverage : IDisposable
{
    readonly Dictionary<string, Tensor> shadow = new(StringComparer.Ordinal);
    readonly HashSet<string> parameterNames;

    public ExponentialMovingAverage(nn.Module model, double decay)
    {
        if (decay is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(decay), $"EMA decay must lie in [0, 1], got {decay}");
        Decay = decay;
        parameterNames = model.named_parameters().Select(p => p.name).ToHashSet(StringComparer.Ordinal);
        using var noGrad = torch.no_grad();
        foreach (var (name, tensor) in model.state_dict())
            shadow[name] = tensor.detach().clone().DetachFromDisposeScope();
    }

    public double Decay { get; }

    /// <summary>One EMA step after an optimizer step.</summary>
    public void Update(nn.Module model)
    {
        using var scope = NewDisposeScope();
        using var noGrad = torch.no_grad();
        foreach (var (name, tensor) in model.state_dict())
        {
            if (!shadow.TryGetValue(name, out var average))
                throw new InvalidOperationException($"EMA has no entry '{name}': the model's state dict changed after the EMA was created");
            if (parameterNames.Contains(name)) average.mul_(Decay).add_(tensor, alpha: 1 - Decay);
            else average.copy_(tensor);
        }
    }

    /// <summary>The averaged weights under the model's state-dict keys (live tensors: do not dispose).</summary>
    public IReadOnlyDictionary<string, Tensor> StateDict() => shadow;

    /// <summary>Replaces the averages with <paramref name="stateDict"/> (a checkpoint's EMA), checking every key and shape.</summary>
    public void Load(IReadOnlyDictionary<string, Tensor> stateDict, string sourceName)
    {
        var missing = shadow.Keys.Where(k => !stateDict.ContainsKey(k)).ToList();
        var unexpected = stateDict.Keys.Where(k => !shadow.ContainsKey(k)).ToList();
        var misShaped = shadow.Where(kv => stateDict.TryGetValue(kv.Key, out var v) && !v.shape.SequenceEqual(kv.Value.shape))
            .Select(kv => $"{kv.Key}: expected [{string.Join(", ", kv.Value.shape)}], found [{string.Join(", ", stateDict[kv.Key].shape)}]")
            .ToList();
        if (missing.Count > 0 || unexpected.Count > 0 || misShaped.Count > 0)
            throw new WeightsFormatException(
                $"{sourceName} does not fit the EMA: missing [{string.Join(", ", missing.Take(10))}], " +
                $"unexpected [{string.Join(", ", unexpected.Take(10))}], mis-shaped [{string.Join("; ", misShaped.Take(10))}]", sourceName);
        using var noGrad = torch.no_grad();
        foreach (var (name, average) in shadow)
            average.copy_(stateDict[name].to(average.dtype, average.device));
    }

    /// <summary>Writes the averaged weights into <paramref name="model"/> (to sample with them).</summary>
    public void CopyTo(nn.Module model) => StateDictLoader.Load(model, shadow, "EMA weights");

    public void Dispose()
    {
        foreach (var tensor in shadow.Values) tensor.Dispose();
        shadow.Clear();
    }
}
