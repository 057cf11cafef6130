namespace RaePipeline.Host.Plugins;

/// <summary>A plugin that cannot be loaded; the message names its assembly file.</summary>
public sealed class PluginLoadException(string assemblyPath, string message, Exception? inner = null)
    : Exception($"plugin {assemblyPath}: {message}", inner)
{
    public string AssemblyPath { get; } = assemblyPath;
}
