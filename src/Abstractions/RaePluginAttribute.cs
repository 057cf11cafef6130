namespace RaePipeline.Abstractions;

/// <summary>
/// Marks an assembly as a RaePipeline plugin and names its registrar. Write it without the version arguments:
/// <c>[assembly: RaePlugin(typeof(MyRegistrar))]</c>; the compiler then records the contract version the plugin
/// was built against.
/// </summary>
[AttributeUsage(AttributeTargets.Assembly, AllowMultiple = false)]
public sealed class RaePluginAttribute(
    Type registrar, int contractMajor = ContractVersion.Major, int contractMinor = ContractVersion.Minor) : Attribute
{
    /// <summary>A type implementing <see cref="IPluginRegistrar"/> with a public parameterless constructor.</summary>
    public Type Registrar { get; } = registrar;

    public Version ContractVersion { get; } = new(contractMajor, contractMinor);
}
