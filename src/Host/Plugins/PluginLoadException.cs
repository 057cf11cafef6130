namespace RaePipeline.Host.Plugins;

/// <summary>A plugin that cannot be loaded; the message names its assembly file.</summary>
public sealed class PluginLoadException(string assemblyPath, string message, Exception? inner = null)
    : Exception($"plugin {assemblyPath}: {message}", inner)
{
    public string AssemblyPath { get; } = assemblyPath;

    /// <summary>Why, without the path.</summary>
    public string Reason { get; } = message;
}

/// <summary>A plugin assembly that was skipped because it could not be loaded, and why.</summary>
public sealed record PluginLoadFailure(string AssemblyPath, string Reason);
