namespace RaePipeline.Abstractions;

/// <summary>Entry point of a plugin: declares the components it offers.</summary>
public interface IPluginRegistrar
{
    void Register(IComponentCatalog catalog);
}
