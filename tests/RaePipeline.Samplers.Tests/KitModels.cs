using RaePipeline.Abstractions;
using RaePipeline.Backbones.DiffusionTransformers;
using RaePipeline.Samplers.FlowMatching;
using static TorchSharp.torch;

namespace RaePipeline.Samplers.Tests;

/// <summary>
/// The kit's sampler case with its models, built through the plugins' registrars as a pipeline would build them:
/// the main DiT^DH from sampling.yaml (its stage_2 block names the architecture and ../ditdh/checkpoint.pt, whose
/// ema entry is loaded), the AutoGuidance guide from case.json's guide_params and guide_model.pt. Loaded when the
/// fixture is built, outside every test's dispose scope (so no test's scope takes the kit's tensors with it), and
/// only when the kit is present (the tests are skipped otherwise).
/// </summary>
public sealed class KitModels : IDisposable
{
    readonly Loaded? loaded = ParityKit.Has("sampler") ? Load() : null;

    Loaded Value => loaded ?? throw new InvalidOperationException(ParityKit.MissingMessage("sampler"));

    public ParityCase Kit => Value.Kit;
    public IDenoiser Main => Value.Main;
    public IDenoiser Guide => Value.Guide;
    public LatentShape Latent => Value.Latent;
    public RecordingCatalog Catalog => Value.Catalog;
    public ComponentContext Context => Value.Context;

    sealed record Loaded(ParityCase Kit, IDenoiser Main, IDenoiser Guide, LatentShape Latent, RecordingCatalog Catalog, ComponentContext Context);

    static Loaded Load()
    {
        var kit = ParityKit.Open("sampler");
        var catalog = new RecordingCatalog();
        new DiffusionTransformersRegistrar().Register(catalog);
        new FlowMatchingSamplersRegistrar().Register(catalog);
        var context = new ComponentContext { Device = CPU, BaseDirectory = kit.Folder };
        var main = catalog.Create<IDenoiser, DiTDHOptions>("dit-dh", context, new DiTDHOptions { Config = "sampling.yaml" });
        var guideContext = new ComponentContext { Device = CPU, BaseDirectory = kit.Folder, WeightsPath = kit.Path("guide_model.pt") };
        var guide = catalog.Create<IDenoiser, DiTDHOptions>("dit-dh", guideContext, new DiTDHOptions
        {
            InputSize = kit.Get<int>("guide_params/input_size"),
            PatchSize = kit.Get<int>("guide_params/patch_size"),
            InChannels = kit.Get<int>("guide_params/in_channels"),
            HiddenSize = kit.GetArray<int>("guide_params/hidden_size"),
            Depth = kit.GetArray<int>("guide_params/depth"),
            NumHeads = kit.GetArray<int>("guide_params/num_heads"),
            MlpRatio = kit.Get<double>("guide_params/mlp_ratio"),
            NumClasses = kit.Get<int>("guide_params/num_classes"),
            UseQknorm = kit.Get<bool>("guide_params/use_qknorm"),
            UseSwiglu = kit.Get<bool>("guide_params/use_swiglu"),
            UseRope = kit.Get<bool>("guide_params/use_rope"),
            UseRmsnorm = kit.Get<bool>("guide_params/use_rmsnorm"),
            WoShift = kit.Get<bool>("guide_params/wo_shift"),
            UsePosEmbed = kit.Get<bool>("guide_params/use_pos_embed"),
        });
        var size = kit.GetArray<int>("latent_size");
        return new Loaded(kit, main, guide, new LatentShape(size[0], size[1], size[2]), catalog, context);
    }

    public void Dispose()
    {
        if (loaded is null) return;
        loaded.Main.Dispose();
        loaded.Guide.Dispose();
        loaded.Kit.Dispose();
    }
}
