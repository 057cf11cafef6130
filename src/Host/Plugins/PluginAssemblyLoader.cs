using System.Reflection;
using McMaster.NETCore.Plugins;
using Microsoft.Extensions.Logging;
using RaePipeline.Abstractions;

namespace RaePipeline.Host.Plugins;

/// <summary>
/// Loads each plugin assembly into its own load context (McMaster.NETCore.Plugins) that shares the host's
/// TorchSharp, contracts and building blocks, checks the contract version it was built against, and lets its
/// registrar fill the catalog. A plugin that cannot be loaded is skipped with a warning and remembered in
/// <see cref="Failures"/>: it fails a pipeline only when that pipeline names a component no loaded plugin offers.
/// </summary>
public sealed class PluginAssemblyLoader(ILogger logger)
{
    static readonly Type[] SharedTypes =
    [
        typeof(IEncoder), typeof(TorchSharp.torch), typeof(ILogger), typeof(RaePipeline.Weights.WeightFiles),
        typeof(Microsoft.Extensions.DependencyInjection.FromKeyedServicesAttribute),
    ];

    readonly HashSet<string> loadedNames = new(StringComparer.OrdinalIgnoreCase);
    readonly List<PluginLoadFailure> failures = [];

    /// <summary>Plugins skipped because they could not be loaded.</summary>
    public IReadOnlyList<PluginLoadFailure> Failures => failures;

    public void LoadAll(IEnumerable<string> roots, ComponentCatalog catalog)
    {
        foreach (var root in roots)
            foreach (var assemblyPath in PluginFolders.AssembliesUnder(root))
            {
                try
                {
                    Load(assemblyPath, catalog);
                }
                catch (PluginLoadException e)
                {
                    logger.LogWarning("plugin skipped: {Message}", e.Message);
                    failures.Add(new PluginLoadFailure(assemblyPath, e.Reason));
                }
            }
    }

    public void Load(string assemblyPath, ComponentCatalog catalog)
    {
        var name = Path.GetFileNameWithoutExtension(assemblyPath);
        if (!loadedNames.Add(name))
        {
            logger.LogWarning("plugin {Name} at {Path} skipped: a plugin of that name is already loaded", name, assemblyPath);
            return;
        }
        Assembly assembly;
        CustomAttributeData? attribute;
        try
        {
            var loader = PluginLoader.CreateFromAssemblyFile(assemblyPath, SharedTypes, config => config.PreferSharedTypes = true);
            assembly = loader.LoadDefaultAssembly();
            attribute = assembly.GetCustomAttributesData()
                .FirstOrDefault(a => a.AttributeType.FullName == typeof(RaePluginAttribute).FullName);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new PluginLoadException(assemblyPath, $"cannot be loaded: {e.Message}", e);
        }
        if (attribute == null)
            throw new PluginLoadException(assemblyPath, "has no [assembly: RaePlugin(typeof(...))] attribute naming its registrar");
        var registrarType = (Type)attribute.ConstructorArguments[0].Value!;
        var builtAgainst = new Version((int)attribute.ConstructorArguments[1].Value!, (int)attribute.ConstructorArguments[2].Value!);
        if (!ContractVersion.IsCompatible(builtAgainst))
            throw new PluginLoadException(assemblyPath,
                $"was built against RaePipeline contracts {builtAgainst}, but this host provides contracts {ContractVersion.Current}; " +
                $"rebuild the plugin against RaePipeline.Abstractions {ContractVersion.Major}.x (minor ≤ {ContractVersion.Minor})");
        if (!typeof(IPluginRegistrar).IsAssignableFrom(registrarType) || registrarType.GetConstructor(Type.EmptyTypes) == null)
            throw new PluginLoadException(assemblyPath,
                $"registrar {registrarType.FullName} must implement IPluginRegistrar and have a public parameterless constructor");
        var info = new PluginInfo(assembly.GetName().Name!, assembly.GetName().Version ?? new Version(0, 0), builtAgainst, assemblyPath);
        var registrar = (IPluginRegistrar)Activator.CreateInstance(registrarType)!;
        try
        {
            registrar.Register(catalog.For(info));
        }
        catch (Exception e) when (e is not PluginLoadException)
        {
            throw new PluginLoadException(assemblyPath, $"registrar failed: {e.Message}", e);
        }
        logger.LogDebug("loaded plugin {Name} {Version} from {Path}", info.AssemblyName, info.AssemblyVersion, assemblyPath);
    }
}
