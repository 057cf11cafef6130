namespace RaePipeline.Abstractions;

/// <summary>
/// The version of the plugin contracts. A plugin records the version it was compiled against in its
/// <see cref="RaePluginAttribute"/> (the default arguments are baked into the plugin at compile time); the host
/// loads a plugin only when the majors are equal and the plugin's minor is not newer than the host's.
/// </summary>
public static class ContractVersion
{
    public const int Major = 1;
    public const int Minor = 1;

    public static Version Current { get; } = new(Major, Minor);

    /// <summary>True when a plugin built against <paramref name="builtAgainst"/> can run on this host.</summary>
    public static bool IsCompatible(Version builtAgainst) =>
        builtAgainst.Major == Major && builtAgainst.Minor <= Minor;
}
