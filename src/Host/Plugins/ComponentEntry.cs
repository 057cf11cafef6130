using RaePipeline.Abstractions;

namespace RaePipeline.Host.Plugins;

/// <summary>A component one plugin offers: its role (contract interface), name, options type and factories.</summary>
public sealed class ComponentEntry
{
    public required Type Role { get; init; }
    public required string Name { get; init; }
    public required string Description { get; init; }
    public required Type OptionsType { get; init; }
    public required Func<ComponentContext, object, object> Create { get; init; }
    public Func<ComponentContext, object, ComponentDescription>? Describe { get; init; }
    public Func<IEnumerable<string>>? Details { get; init; }
    public required PluginInfo Plugin { get; init; }

    /// <summary>The role's name as users see it (<c>encoder</c>, <c>decoder</c>, ...).</summary>
    public string RoleName => RoleNames.Of(Role);
}

/// <summary>Where a component came from, for listings and error messages.</summary>
public sealed record PluginInfo(string AssemblyName, Version AssemblyVersion, Version ContractVersion, string AssemblyPath);

public static class RoleNames
{
    public static readonly IReadOnlyList<Type> All =
        [typeof(IEncoder), typeof(IDecoder), typeof(IDenoiser), typeof(ISampler), typeof(IFeatureExtractor)];

    public static string Of(Type role) => role == typeof(IEncoder) ? "encoder"
        : role == typeof(IDecoder) ? "decoder"
        : role == typeof(IDenoiser) ? "denoiser"
        : role == typeof(ISampler) ? "sampler"
        : role == typeof(IFeatureExtractor) ? "feature extractor"
        : role.Name;
}
