namespace RaePipeline.Host.Plugins;

/// <summary>The text of <c>rae plugins</c>: every component by role, with its assembly, versions and details.</summary>
public static class PluginListing
{
    public static void Write(TextWriter output, ComponentCatalog catalog, IReadOnlyList<PluginLoadFailure> failures)
    {
        foreach (var role in Pipeline.PipelineRoles.Contracts)
        {
            var entries = catalog.Entries.Where(e => e.Role == role).OrderBy(e => e.Name, StringComparer.Ordinal).ToList();
            output.WriteLine($"{Pipeline.PipelineRoles.NounOf(role)}s:");
            if (entries.Count == 0) output.WriteLine("  (none installed)");
            foreach (var entry in entries)
            {
                output.WriteLine($"  {entry.Name,-18} {entry.Description}");
                output.WriteLine($"  {"",-18} {entry.Plugin.AssemblyName} {entry.Plugin.AssemblyVersion} (contracts {entry.Plugin.ContractVersion}) {entry.Plugin.AssemblyPath}");
                foreach (var detail in entry.Details?.Invoke() ?? [])
                    output.WriteLine($"  {"",-18}   {detail}");
            }
        }
        foreach (var failure in failures)
            output.WriteLine($"skipped (cannot be loaded): {failure.AssemblyPath}: {failure.Reason}");
    }
}
