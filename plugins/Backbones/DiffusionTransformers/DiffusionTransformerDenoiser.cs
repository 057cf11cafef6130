using RaePipeline.Abstractions;
using RaePipeline.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Backbones.DiffusionTransformers;

/// <summary>
/// A LightningDiT or DiT^DH as an <see cref="IDenoiser"/>: built from a spec, loaded strictly from official weights
/// (raw state dict or the <c>ema</c>/<c>model</c> entry of a training checkpoint, .pt or safetensors) or initialized
/// as the official code does from the pipeline seed.
/// </summary>
public sealed class DiffusionTransformerDenoiser : IDenoiser
{
    readonly nn.Module<Tensor, Tensor, Tensor, Tensor> model;

    public DiffusionTransformerDenoiser(DiffusionTransformerSpec spec, nn.Module<Tensor, Tensor, Tensor, Tensor> model)
    {
        Spec = spec;
        this.model = model;
    }

    public DiffusionTransformerSpec Spec { get; }

    public LatentShape LatentShape => Spec.Latent;

    public int NumClasses => Spec.NumClasses;

    public nn.Module Module => model;

    /// <summary>A module of the spec's kind, without weights.</summary>
    public static nn.Module<Tensor, Tensor, Tensor, Tensor> CreateModule(DiffusionTransformerSpec spec) => spec.Kind switch
    {
        DiffusionTransformerKind.LightningDiT => new LightningDiT(spec),
        _ => new DiTwDDTHead(spec),
    };

    /// <summary>
    /// Builds the module; loads <paramref name="weightsPath"/> when given (every key required, none unexpected),
    /// else initializes it like the official <c>initialize_weights</c> from <paramref name="seed"/>.
    /// </summary>
    public static DiffusionTransformerDenoiser Create(DiffusionTransformerSpec spec, string? weightsPath,
        WeightFiles.CheckpointEntry entry, long seed, Device device)
    {
        var module = CreateModule(spec);
        try
        {
            if (weightsPath is not null)
            {
                var stateDict = WeightFiles.ReadStateDict(weightsPath, entry);
                try
                {
                    StateDictLoader.Load(module, stateDict, weightsPath);
                }
                finally
                {
                    foreach (var tensor in stateDict.Values) tensor.Dispose();
                }
            }
            else
            {
                using var generator = new Generator((ulong)seed, torch.CPU);
                switch (module)
                {
                    case LightningDiT lightning: lightning.InitializeWeights(generator); break;
                    case DiTwDDTHead ditdh: ditdh.InitializeWeights(generator); break;
                }
            }
            module.to(device);
            module.eval();
            return new DiffusionTransformerDenoiser(spec, module);
        }
        catch
        {
            module.Dispose();
            throw;
        }
    }

    // x: (B, C, h, w), t: (B,) float32 in [0, 1], y: (B,) int64 in [0, K] -> velocity (B, C, h, w)
    public Tensor Forward(Tensor x, Tensor t, Tensor y)
    {
        var latent = Spec.Latent;
        if (x.dim() != 4 || x.shape[1] != latent.Channels || x.shape[2] != latent.Height || x.shape[3] != latent.Width)
            throw new ArgumentException($"x: expected (B, {latent.Channels}, {latent.Height}, {latent.Width}), found [{string.Join(", ", x.shape)}]");
        long batch = x.shape[0];
        if (t.dim() != 1 || t.shape[0] != batch)
            throw new ArgumentException($"t: expected ({batch},), found [{string.Join(", ", t.shape)}]");
        if (y.dim() != 1 || y.shape[0] != batch || y.dtype != ScalarType.Int64)
            throw new ArgumentException($"y: expected ({batch},) int64, found [{string.Join(", ", y.shape)}] {y.dtype}");
        using var scope = NewDisposeScope();
        if (batch > 0 && (y.min().item<long>() < 0 || y.max().item<long>() > NumClasses))
            throw new ArgumentException($"y: labels must lie in [0, {NumClasses}] ({NumClasses} = null label), found [{y.min().item<long>()}, {y.max().item<long>()}]");
        return model.forward(x, t, y).MoveToOuterDisposeScope();
    }

    public void Dispose() => model.Dispose();
}
