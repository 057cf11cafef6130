using RaePipeline.Abstractions;

namespace RaePipeline.Onnx.Tests;

/// <summary>Keeps what a registrar declares, by role and name, so tests call its factories as the host would.</summary>
public sealed class RecordingCatalog : IComponentCatalog
{
    readonly Dictionary<(Type Role, string Name), object> registrations = [];

    public void Add<TRole, TOptions>(ComponentRegistration<TRole, TOptions> registration)
        where TRole : class where TOptions : class, new() =>
        registrations.Add((typeof(TRole), registration.Name), registration);

    public ComponentRegistration<TRole, TOptions> Get<TRole, TOptions>(string name)
        where TRole : class where TOptions : class, new() =>
        (ComponentRegistration<TRole, TOptions>)registrations[(typeof(TRole), name)];
}
