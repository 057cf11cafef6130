namespace RaePipeline.Host.Plugins;

/// <summary>
/// Where plugins are looked for, in order: the build's own plugin folder (<c>plugins/</c> beside the host), folders
/// listed in RAE_PLUGIN_PATH (separated by the platform's path separator), and folders the pipeline lists.
/// A plugin is a folder holding an assembly of the same name (<c>MyEncoder/MyEncoder.dll</c>).
/// </summary>
public static class PluginFolders
{
    public const string EnvironmentVariable = "RAE_PLUGIN_PATH";

    public static IReadOnlyList<string> Roots(IEnumerable<string> fromPipeline)
    {
        var roots = new List<string> { Path.Combine(AppContext.BaseDirectory, "plugins") };
        var fromEnvironment = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrEmpty(fromEnvironment))
            roots.AddRange(fromEnvironment.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries));
        roots.AddRange(fromPipeline);
        return roots.Select(Path.GetFullPath).Distinct().ToList();
    }

    /// <summary>Plugin assemblies under a root: the root itself when it is a plugin folder, else each sub-folder that is one.</summary>
    public static IEnumerable<string> AssembliesUnder(string root)
    {
        if (!Directory.Exists(root)) yield break;
        var own = Path.Combine(root, Path.GetFileName(Path.TrimEndingDirectorySeparator(root)) + ".dll");
        if (File.Exists(own))
        {
            yield return own;
            yield break;
        }
        foreach (var folder in Directory.GetDirectories(root).OrderBy(f => f, StringComparer.Ordinal))
        {
            var candidate = Path.Combine(folder, Path.GetFileName(folder) + ".dll");
            if (File.Exists(candidate)) yield return candidate;
        }
    }
}
