using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RaePipeline.Training;

/// <summary>
/// Everything a training run needs to continue exactly where it stopped: the model, its EMA, the AdamW optimizer
/// (with the named parameters it updates, in its order), the random generators the run owns (the torch CPU default
/// generator is always included), the number of optimizer steps done, and free-form facts to check on resume
/// (the schedule, the batch size, ...).
/// </summary>
public sealed class TrainingState
{
    public required nn.Module Model { get; init; }

    public ExponentialMovingAverage? Ema { get; init; }

    public required AdamW Optimizer { get; init; }

    /// <summary>The parameters the optimizer updates, with their names in <see cref="Model"/>, in the optimizer's order.</summary>
    public required IReadOnlyList<(string Name, Parameter Parameter)> Parameters { get; init; }

    /// <summary>Generators owned by the run (noise, times, label dropout, ...), by name.</summary>
    public IReadOnlyDictionary<string, Generator> Generators { get; init; } = new Dictionary<string, Generator>();

    /// <summary>Optimizer steps done.</summary>
    public long Step { get; set; }

    /// <summary>Facts saved with the checkpoint (schedule, batch size, ...), restored on load.</summary>
    public Dictionary<string, string> Facts { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The parameters of <paramref name="model"/> that require gradients, with their names, in module order.</summary>
    public static List<(string Name, Parameter Parameter)> TrainableParameters(nn.Module model) =>
        model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => (p.name, p.parameter)).ToList();
}
