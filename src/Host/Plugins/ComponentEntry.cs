using RaePipeline.Abstractions;

namespace RaePipeline.Host.Plugins;

/// <summary>
/// A component one plugin offers: its role (contract interface), name, options type and how it is built: given the
/// context, the bound options and the run's services (a delegate-form registration ignores the services; a
/// class-form one is constructed from them).
/// </summary>
public sealed class ComponentEntry
{
    public required Type Role { get; init; }
    public required string Name { get; init; }
    public required string Description { get; init; }
    public required Type OptionsType { get; init; }
    public required Func<ComponentContext, object, IServiceProvider, object> Create { get; init; }
    public Func<ComponentContext, object, ComponentDescription>? Describe { get; init; }
    public Func<IEnumerable<string>>? Details { get; init; }
    public required PluginInfo Plugin { get; init; }

    /// <summary>The role's name as users see it (<c>encoder</c>, <c>decoder</c>, ...).</summary>
    public string RoleName => Pipeline.PipelineRoles.NounOf(Role);
}

/// <summary>Where a component came from, for listings and error messages.</summary>
public sealed record PluginInfo(string AssemblyName, Version AssemblyVersion, Version ContractVersion, string AssemblyPath);
