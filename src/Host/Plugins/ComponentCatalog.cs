using Microsoft.Extensions.DependencyInjection;
using RaePipeline.Abstractions;
using RaePipeline.Pipeline;

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
        if (!PipelineRoles.Contracts.Contains(entry.Role))
            throw new PluginLoadException(entry.Plugin.AssemblyPath,
                $"component '{entry.Name}' has role {entry.Role.Name}, which is not a RaePipeline role ({string.Join(", ", PipelineRoles.Contracts.Select(r => r.Name))})");
        if (entries.TryGetValue((entry.Role, entry.Name), out var existing))
            throw new PluginLoadException(entry.Plugin.AssemblyPath,
                $"{entry.RoleName} '{entry.Name}' is offered twice: by {existing.Plugin.AssemblyPath} and by {entry.Plugin.AssemblyPath}");
        entries[(entry.Role, entry.Name)] = entry;
    }

    sealed class PluginScope(ComponentCatalog catalog, PluginInfo plugin) : IComponentCatalog
    {
        public void Add<TRole, TOptions>(ComponentRegistration<TRole, TOptions> registration)
            where TRole : class where TOptions : class, new() =>
            catalog.Add(Entry<TRole, TOptions>(registration.Name, registration.Description, registration.Describe, registration.Details,
                (context, options, _) => registration.Create(context, options)));

        public void Add<TRole, TComponent, TOptions>(ComponentClassRegistration<TRole, TComponent, TOptions> registration)
            where TRole : class where TComponent : class, TRole where TOptions : class, new() =>
            catalog.Add(Entry<TRole, TOptions>(registration.Name, registration.Description, registration.Describe, registration.Details,
                (context, options, services) => ActivatorUtilities.CreateInstance<TComponent>(new Composition.ComponentServices(services, options, context))));

        ComponentEntry Entry<TRole, TOptions>(string name, string description,
            Func<ComponentContext, TOptions, ComponentDescription>? describe, Func<IEnumerable<string>>? details,
            Func<ComponentContext, TOptions, IServiceProvider, TRole> create) => new()
        {
            Role = typeof(TRole),
            Name = name,
            Description = description,
            OptionsType = typeof(TOptions),
            Create = (context, options, services) => create(context, (TOptions)options, services)!,
            Describe = describe == null ? null : (context, options) => describe(context, (TOptions)options),
            Details = details,
            Plugin = plugin,
        };
    }
}
