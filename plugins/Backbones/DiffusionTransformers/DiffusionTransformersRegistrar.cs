using System.Globalization;
using RaePipeline.Abstractions;
using RaePipeline.Backbones.DiffusionTransformers;

[assembly: RaePlugin(typeof(DiffusionTransformersRegistrar))]

namespace RaePipeline.Backbones.DiffusionTransformers;

/// <summary>Registers the denoisers <c>lightning-dit</c> and <c>dit-dh</c>.</summary>
public sealed class DiffusionTransformersRegistrar : IPluginRegistrar
{
    /// <summary>The latent the <c>rae plugins</c> parameter counts are given for: DINOv2-B at 256 px.</summary>
    public static LatentShape ReferenceLatent { get; } = new(768, 16, 16);

    public void Register(IComponentCatalog catalog)
    {
        catalog.Add(new ComponentRegistration<IDenoiser, LightningDiTOptions>
        {
            Name = "lightning-dit",
            Description = "LightningDiT velocity model (RMSNorm, SwiGLU, 2-D RoPE, adaLN-Zero); official RAE weights load as is",
            Create = (context, options) => Create(context, options, DiffusionTransformerSpecBuilder.Build(context, options)),
            Describe = (context, options) => Describe(DiffusionTransformerSpecBuilder.Build(context, options).Spec),
            Details = LightningDiTDetails,
        });
        catalog.Add(new ComponentRegistration<IDenoiser, DiTDHOptions>
        {
            Name = "dit-dh",
            Description = "DiT^DH velocity model: DiT backbone plus a wide, shallow DDT head (the RAE paper's model)",
            Create = (context, options) => Create(context, options, DiffusionTransformerSpecBuilder.Build(context, options)),
            Describe = (context, options) => Describe(DiffusionTransformerSpecBuilder.Build(context, options).Spec),
            Details = DiTDHDetails,
        });
    }

    static IDenoiser Create(ComponentContext context, DiffusionTransformerOptions options,
        (DiffusionTransformerSpec Spec, OfficialModelConfig? Config) resolved)
    {
        var entry = DiffusionTransformerSpecBuilder.CheckpointEntry(options);
        var weights = context.WeightsPath ?? resolved.Config?.Checkpoint;
        return DiffusionTransformerDenoiser.Create(resolved.Spec, weights, entry, context.Seed, context.Device);
    }

    /// <summary>Latent, classes, and the paper's width warning (a model narrower than the latent channels fits poorly).</summary>
    public static ComponentDescription Describe(DiffusionTransformerSpec spec)
    {
        var warnings = new List<string>();
        int channels = spec.InChannels;
        if (spec.Kind == DiffusionTransformerKind.LightningDiT && spec.Backbone.HiddenSize < channels)
            warnings.Add(
                $"backbone width {spec.Backbone.HiddenSize} < {channels} latent channels: the RAE paper finds a diffusion " +
                "transformer needs a width of at least the latent channel count to fit high-dimensional latents; " +
                "use a wider preset or dit-dh (whose wide head meets it)");
        if (spec.Kind == DiffusionTransformerKind.DiTDH && spec.Head!.HiddenSize < channels)
            warnings.Add(
                $"DDT head width {spec.Head.HiddenSize} < {channels} latent channels: the RAE paper finds the model width " +
                "must be at least the latent channel count; the head is what meets it in DiT^DH (default 2048)");
        return new ComponentDescription { Latent = spec.Latent, NumClasses = spec.NumClasses, Warnings = warnings };
    }

    static IEnumerable<string> LightningDiTDetails()
    {
        yield return $"presets (width, depth, heads); parameters for a {ReferenceLatent} latent, 1000 classes:";
        foreach (var (name, size) in SizePresets.Backbones)
            yield return $"  {name} {size}: {Millions(ReferenceSpec(DiffusionTransformerKind.LightningDiT, size, null))}";
    }

    static IEnumerable<string> DiTDHDetails()
    {
        var head = SizePresets.Head(SizePresets.DefaultHead);
        yield return $"backbone presets (width, depth, heads) with the default DDT head {head}; parameters for a {ReferenceLatent} latent, 1000 classes:";
        foreach (var (name, size) in SizePresets.Backbones)
            yield return $"  {name} {size}: {Millions(ReferenceSpec(DiffusionTransformerKind.DiTDH, size, head))}";
        yield return "head presets: " + string.Join(", ", SizePresets.Heads.Select(kv => $"{kv.Key} {kv.Value}"));
    }

    /// <summary>A released-flags spec at the reference latent, for parameter counts.</summary>
    public static DiffusionTransformerSpec ReferenceSpec(DiffusionTransformerKind kind, TransformerSize backbone, TransformerSize? head) => new()
    {
        Kind = kind,
        InChannels = ReferenceLatent.Channels,
        InputSize = ReferenceLatent.Height,
        Backbone = backbone,
        Head = head,
    };

    static string Millions(DiffusionTransformerSpec spec) =>
        (spec.ParameterCount() / 1e6).ToString("0.0", CultureInfo.InvariantCulture) + "M";
}
