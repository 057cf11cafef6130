using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RaePipeline.Abstractions;
using RaePipeline.Host.Plugins;
using static TorchSharp.torch;

namespace RaePipeline.Host.Tests;

/// <summary>Components registered in the class form (contracts 1.1), as a plugin's registrar would.</summary>
public static class InjectedComponents
{
    public sealed class StepOptions
    {
        public int NumSteps { get; set; } = 4;
    }

    /// <summary>A sampler whose constructor takes its options, a logger and the pipeline's encoder (by role key).</summary>
    public sealed class InjectedSampler : ISampler
    {
        public InjectedSampler(StepOptions options, ILogger<InjectedSampler> logger, [FromKeyedServices("encoder")] IEncoder encoder)
        {
            Steps = options.NumSteps;
            logger.LogInformation("{Steps} steps for latents {Latent}", options.NumSteps, encoder.LatentShape);
        }

        public int Steps { get; }

        public Tensor TimeGrid(LatentShape latent) => linspace(1, 0, Steps + 1);

        public int FunctionEvaluations(int gridPoints) => gridPoints - 1;

        public Tensor Sample(VelocityField velocity, Tensor noise, Tensor labels, Tensor grid,
            Generator? generator = null, Action<int, Tensor>? onStep = null) => noise.clone();
    }

    public const string SamplerName = "injected";

    /// <summary>Registers <see cref="InjectedSampler"/>; its validation refuses num_steps below 1 naming the option.</summary>
    public static void Register(ComponentCatalog catalog)
    {
        if (catalog.Find(typeof(ISampler), SamplerName) != null) return;
        catalog.For(new PluginInfo("InjectedComponents", new Version(1, 0), ContractVersion.Current, "InjectedComponents.dll"))
            .Add(new ComponentClassRegistration<ISampler, InjectedSampler, StepOptions>
            {
                Name = SamplerName,
                Description = "test sampler built through its constructor",
                Describe = (_, options) => options.NumSteps >= 1
                    ? new ComponentDescription()
                    : throw new ComponentConfigurationException($"must be at least 1, got {options.NumSteps}", "num_steps"),
            });
    }
}
