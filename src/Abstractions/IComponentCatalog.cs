namespace RaePipeline.Abstractions;

/// <summary>Where a plugin declares its components, each under a role and a name unique within that role.</summary>
public interface IComponentCatalog
{
    /// <summary>A component built by its factory delegate (contracts 1.0).</summary>
    void Add<TRole, TOptions>(ComponentRegistration<TRole, TOptions> registration)
        where TRole : class
        where TOptions : class, new();

    /// <summary>
    /// A component whose constructor the host calls with its options, context, logger and other services
    /// (contracts 1.1). Catalogs written for 1.0 do not take this form.
    /// </summary>
    void Add<TRole, TComponent, TOptions>(ComponentClassRegistration<TRole, TComponent, TOptions> registration)
        where TRole : class
        where TComponent : class, TRole
        where TOptions : class, new() =>
        throw new NotSupportedException(
            $"this catalog takes contracts 1.0 registrations only; '{registration.Name}' needs a host with contracts 1.1");
}
