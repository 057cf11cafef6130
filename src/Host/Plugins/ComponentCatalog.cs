using RaePipeline.Abstractions;

namespace RaePipeline.Host.Plugins;

/// <summary>Every component the loaded plugins offer, by role and name.</summary>
public sealed class ComponentCatalog
{
    readonly Dictionary<(Type Role, string Name), ComponentEntry> entries = new();

    public IReadOnlyCollection<ComponentEntry> Entries => entries.Values;

    public IReadOnlyList<string> Names(Type role) =>
        entries.Keys.Where(k => k.Role == role).Select(k => k.Name).OrderBy(n => n, StringComparer.Ordinal).ToList();

    public ComponentEntry? Find(Type role, string name) => entries.GetValueOrDefault((role, name));

    /// <summary>The registration surface handed to one plugin's registrar.</summary>
    public IComponentCatalog For(PluginInfo plugin) => new PluginScope(this, plugin);

    void Add(ComponentEntry entry)
    {
        if (!RoleNames.All.Contains(entry.Role))
            throw new PluginLoadException(entry.Plugin.AssemblyPath,
                $"component '{entry.Name}' has role {entry.Role.Name}, which is not a RaePipeline role ({string.Join(", ", RoleNames.All.Select(r => r.Name))})");
        if (entries.TryGetValue((entry.Role, entry.Name), out var existing))
            throw new PluginLoadException(entry.Plugin.AssemblyPath,
                $"{entry.RoleName} '{entry.Name}' is offered twice: by {existing.Plugin.AssemblyPath} and by {entry.Plugin.AssemblyPath}");
        entries[(entry.Role, entry.Name)] = entry;
    }

    sealed class PluginScope(ComponentCatalog catalog, PluginInfo plugin) : IComponentCatalog
    {
        public void Add<TRole, TOptions>(ComponentRegistration<TRole, TOptions> registration)
            where TRole : class where TOptions : class, new()
        {
            var describe = registration.Describe;
            catalog.Add(new ComponentEntry
            {
                Role = typeof(TRole),
                Name = registration.Name,
                Description = registration.Description,
                OptionsType = typeof(TOptions),
                Create = (context, options) => registration.Create(context, (TOptions)options),
                Describe = describe == null ? null : (context, options) => describe(context, (TOptions)options),
                Details = registration.Details,
                Plugin = plugin,
            });
        }
    }
}
