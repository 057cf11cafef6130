namespace RaePipeline.Abstractions;

/// <summary>Where a plugin declares its components, each under a role and a name unique within that role.</summary>
public interface IComponentCatalog
{
    void Add<TRole, TOptions>(ComponentRegistration<TRole, TOptions> registration)
        where TRole : class
        where TOptions : class, new();
}
