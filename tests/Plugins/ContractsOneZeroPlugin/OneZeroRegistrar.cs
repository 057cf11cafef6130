using ContractsOneZeroPlugin;
using RaePipeline.Abstractions;
using static TorchSharp.torch;

[assembly: RaePlugin(typeof(OneZeroRegistrar), contractMajor: 1, contractMinor: 0)]

namespace ContractsOneZeroPlugin;

/// <summary>Registers one sampler the 1.0 way (a factory delegate).</summary>
public sealed class OneZeroRegistrar : IPluginRegistrar
{
    public void Register(IComponentCatalog catalog) =>
        catalog.Add(new ComponentRegistration<ISampler, OneZeroOptions>
        {
            Name = "one-zero",
            Description = "test sampler registered through contracts 1.0",
            Create = (_, options) => new OneZeroSampler(options.Points),
        });
}

public sealed class OneZeroOptions
{
    public int Points { get; set; } = 3;
}

/// <summary>Returns the noise as it is, on a grid from 1 to 0.</summary>
public sealed class OneZeroSampler(int points) : ISampler
{
    public Tensor TimeGrid(LatentShape latent) => linspace(1, 0, points);

    public int FunctionEvaluations(int gridPoints) => 0;

    public Tensor Sample(VelocityField velocity, Tensor noise, Tensor labels, Tensor grid,
        Generator? generator = null, Action<int, Tensor>? onStep = null) => noise.clone();
}
