using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using RaePipeline.Abstractions;
using RaePipeline.Abstractions.Testing;
using RaePipeline.Host.Plugins;
using TorchSharp;

namespace RaePipeline.Host.Tests;

/// <summary>The sample third-party plugin, loaded through the host from its own folder, passes the contract kit.</summary>
public class SamplePluginContractTests : EncoderContractTests
{
    static readonly ComponentCatalog Catalog = LoadSample();

    static ComponentCatalog LoadSample()
    {
        var catalog = new ComponentCatalog();
        new PluginAssemblyLoader(NullLogger.Instance).LoadAll([TestPaths.SamplePluginFolder], catalog);
        return catalog;
    }

    protected override IEncoder CreateEncoder(long seed)
    {
        var entry = Catalog.Find(typeof(IEncoder), "patch-projection")!;
        var context = new ComponentContext { Device = torch.CPU, Seed = seed, BaseDirectory = "." };
        return (IEncoder)entry.Create(context, Activator.CreateInstance(entry.OptionsType)!, new ServiceCollection().BuildServiceProvider());
    }
}
