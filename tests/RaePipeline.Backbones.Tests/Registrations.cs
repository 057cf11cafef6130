using RaePipeline.Abstractions;
using RaePipeline.Backbones.DiffusionTransformers;
using TorchSharp;

namespace RaePipeline.Backbones.Tests;

/// <summary>The plugin's registrations, taken through its registrar as the host takes them.</summary>
static class Registrations
{
    sealed class Catalog : IComponentCatalog
    {
        public readonly List<object> Added = [];

        public void Add<TRole, TOptions>(ComponentRegistration<TRole, TOptions> registration)
            where TRole : class where TOptions : class, new() => Added.Add(registration);
    }

    static readonly List<object> All = Register();

    static List<object> Register()
    {
        var catalog = new Catalog();
        new DiffusionTransformersRegistrar().Register(catalog);
        return catalog.Added;
    }

    public static ComponentRegistration<IDenoiser, LightningDiTOptions> LightningDiT =>
        All.OfType<ComponentRegistration<IDenoiser, LightningDiTOptions>>().Single(r => r.Name == "lightning-dit");

    public static ComponentRegistration<IDenoiser, DiTDHOptions> DiTDH =>
        All.OfType<ComponentRegistration<IDenoiser, DiTDHOptions>>().Single(r => r.Name == "dit-dh");

    public static ComponentContext Context(string? weights = null, LatentShape? latent = null, long seed = 0, string? baseDirectory = null) => new()
    {
        Device = torch.CPU,
        Seed = seed,
        WeightsPath = weights,
        BaseDirectory = baseDirectory ?? Path.GetTempPath(),
        EncoderLatent = latent,
    };
}
