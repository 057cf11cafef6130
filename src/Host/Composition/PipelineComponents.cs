using Microsoft.Extensions.Logging;
using RaePipeline.Abstractions;
using RaePipeline.Latents;
using RaePipeline.Pipeline;
using TorchSharp;

namespace RaePipeline.Host.Composition;

/// <summary>
/// The components of one run, each built on first use from its plan (the encoder before the decoder and the
/// denoisers, which take its latent shape and image normalization) and disposed with the run.
/// </summary>
public sealed class PipelineComponents(PipelinePlan plan, torch.Device device, long seed, ILoggerFactory loggerFactory)
    : IPipelineComponents, IDisposable
{
    readonly Dictionary<PipelineRole, object> built = new();
    LatentStatistics? statistics;
    bool statisticsLoaded;

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
                loggerFactory.CreateLogger("rae.components").LogInformation(
                    "latent statistics {Shape} from {Path}{Mean}", statistics.Shape, plan.StatisticsPath,
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
        if (built.TryGetValue(role, out var existing)) return (T)existing;
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
        var logger = loggerFactory.CreateLogger("rae.components");
        logger.LogInformation("building {Role} '{Name}'{Weights}", role.Key(), planned.Entry.Name,
            planned.WeightsPath == null ? " (no weights file given; the component says what it uses)" : $" from {planned.WeightsPath}");
        // A job may first touch a component inside its per-step dispose scope; what the component creates belongs
        // to the component (released by its Dispose), never to that scope.
        T component;
        using (var scope = torch.NewDisposeScope())
        {
            component = planned.Entry.Create(context, planned.Options) as T
                        ?? throw new InvalidOperationException(
                            $"{role.Key()} '{planned.Entry.Name}' from {planned.Entry.Plugin.AssemblyPath} did not build a {typeof(T).Name}");
            scope.Detach(scope.DisposablesView.ToList());
        }
        built[role] = component;
        return component;
    }

    PlannedComponent Planned(PipelineRole role) =>
        plan.Components.TryGetValue(role, out var planned)
            ? planned
            : throw new InvalidOperationException(
                $"{plan.Yaml.File}: this pipeline has no '{role.Key()}' block, and a job needs one");

    public void Dispose()
    {
        foreach (var component in built.Values.OfType<IDisposable>()) component.Dispose();
        built.Clear();
        statistics?.Dispose();
    }
}
