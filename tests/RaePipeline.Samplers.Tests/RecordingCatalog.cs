using RaePipeline.Abstractions;

namespace RaePipeline.Samplers.Tests;

/// <summary>Collects plugin registrars' components and builds them by name, as the host's catalog does.</summary>
public sealed class RecordingCatalog : IComponentCatalog
{
    readonly Dictionary<string, object> registrations = [];

    public void Add<TRole, TOptions>(ComponentRegistration<TRole, TOptions> registration)
        where TRole : class where TOptions : class, new() =>
        registrations.Add(registration.Name, registration);

    public IReadOnlyCollection<string> Names => registrations.Keys;

    public TRole Create<TRole, TOptions>(string name, ComponentContext context, TOptions options)
        where TRole : class where TOptions : class, new() =>
        ((ComponentRegistration<TRole, TOptions>)registrations[name]).Create(context, options);
}
