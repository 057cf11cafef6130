using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RaePipeline.Abstractions;
using RaePipeline.Latents;
using RaePipeline.Pipeline;
using TorchSharp;

namespace RaePipeline.Host.Composition;

/// <summary>
/// The components of one run, resolved through a service container of the run in which each planned component is a
/// keyed singleton of its contract under its role's key (<c>encoder</c>, <c>denoiser</c>, <c>guidance.guide</c>, ...).
/// A component is built on first use (the encoder before the decoder and the denoisers, which take its latent shape
/// and image normalization); class-form components get their options, context, <c>ILogger&lt;T&gt;</c> and the other
/// components by key in their constructor. Everything built is disposed with the run.
/// </summary>
public sealed class PipelineComponents : IPipelineComponents, IDisposable
{
    readonly PipelinePlan plan;
    readonly torch.Device device;
    readonly long seed;
    readonly ILoggerFactory loggerFactory;
    readonly ILogger logger;
    readonly ServiceProvider services;
    LatentStatistics? statistics;
    bool statisticsLoaded;

    public PipelineComponents(PipelinePlan plan, torch.Device device, long seed, ILoggerFactory loggerFactory)
    {
        this.plan = plan;
        this.device = device;
        this.seed = seed;
        this.loggerFactory = loggerFactory;
        logger = loggerFactory.CreateLogger("rae.components");
        var collection = new ServiceCollection();
        collection.AddSingleton(loggerFactory);
        collection.AddSingleton(typeof(ILogger<>), typeof(Logger<>));
        foreach (var (role, _) in plan.Components)
            collection.AddKeyedSingleton(role.Contract(), role.Key(), (provider, _) => Build(role, provider));
        services = collection.BuildServiceProvider();
    }

    public IEncoder Encoder => Get<IEncoder>(PipelineRole.Encoder);
    public IDecoder Decoder => Get<IDecoder>(PipelineRole.Decoder);
    public IDenoiser Denoiser => Get<IDenoiser>(PipelineRole.Denoiser);
    public ISampler Sampler => Get<ISampler>(PipelineRole.Sampler);
    public IFeatureExtractor FeatureExtractor => Get<IFeatureExtractor>(PipelineRole.FeatureExtractor);
    public IDenoiser GuideDenoiser => Get<IDenoiser>(PipelineRole.GuideDenoiser);
    public GuidanceOptions Guidance => plan.Guidance;

    public LatentStatistics? Statistics
    {
        get
        {
            if (!statisticsLoaded && plan.StatisticsPath != null)
            {
                using (var scope = torch.NewDisposeScope())
                {
                    statistics = LatentStatistics.Load(plan.StatisticsPath);
                    scope.Detach(scope.DisposablesView.ToList());
                }
                logger.LogInformation("latent statistics {Shape} from {Path}{Mean}", statistics.Shape, plan.StatisticsPath,
                    statistics.Mean is null ? " (no mean: variance only)" : "");
            }
            statisticsLoaded = true;
            return statistics;
        }
        set
        {
            statistics = value;
            statisticsLoaded = true;
        }
    }

    public bool Has(PipelineRole role) => plan.Components.ContainsKey(role);

    public string NameOf(PipelineRole role) => Planned(role).Entry.Name;

    T Get<T>(PipelineRole role) where T : class
    {
        Planned(role);
        return (T)services.GetRequiredKeyedService(role.Contract(), role.Key());
    }

    object Build(PipelineRole role, IServiceProvider provider)
    {
        var planned = Planned(role);
        bool needsEncoder = role is PipelineRole.Decoder or PipelineRole.Denoiser or PipelineRole.GuideDenoiser;
        var encoder = needsEncoder && Has(PipelineRole.Encoder) ? Encoder : null;
        var context = new ComponentContext
        {
            Device = device,
            Seed = seed,
            WeightsPath = planned.WeightsPath,
            BaseDirectory = plan.Yaml.Directory,
            EncoderImageNormalization = encoder?.ImageNormalization,
            EncoderLatent = encoder?.LatentShape,
            LoggerFactory = loggerFactory,
        };
        logger.LogInformation("building {Role} '{Name}'{Weights}", role.Key(), planned.Entry.Name,
            planned.WeightsPath != null ? $" from {planned.WeightsPath}"
            : role.HoldsWeights() ? " (no weights file given; the component says what it starts from)" : "");
        // A job may first touch a component inside its per-step dispose scope; what the component creates belongs
        // to the component (released by its Dispose), never to that scope.
        using var scope = torch.NewDisposeScope();
        var component = planned.Entry.Create(context, planned.Options, provider);
        scope.Detach(scope.DisposablesView.ToList());
        return role.Contract().IsInstanceOfType(component)
            ? component
            : throw new InvalidOperationException(
                $"{role.Key()} '{planned.Entry.Name}' from {planned.Entry.Plugin.AssemblyPath} did not build a {role.Contract().Name}");
    }

    PlannedComponent Planned(PipelineRole role) =>
        plan.Components.TryGetValue(role, out var planned)
            ? planned
            : throw new InvalidOperationException(
                $"{plan.Yaml.File}: this pipeline has no '{role.Key()}' block, and a job needs one");

    /// <summary>Disposes every component built (the container owns them) and the statistics.</summary>
    public void Dispose()
    {
        services.Dispose();
        statistics?.Dispose();
    }
}
