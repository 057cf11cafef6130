using IncompatibleContractPlugin;
using RaePipeline.Abstractions;

[assembly: RaePlugin(typeof(OldContractRegistrar), contractMajor: 0, contractMinor: 9)]

namespace IncompatibleContractPlugin;

/// <summary>Would register nothing; the host must refuse the plugin before calling it.</summary>
public sealed class OldContractRegistrar : IPluginRegistrar
{
    public void Register(IComponentCatalog catalog) =>
        throw new InvalidOperationException("the host called a registrar built against incompatible contracts");
}
