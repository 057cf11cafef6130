using RaePipeline.Host.Configuration;
using RaePipeline.Host.Plugins;
using RaePipeline.Pipeline;
using YamlDotNet.RepresentationModel;

namespace RaePipeline.Host.Composition.Planning;

/// <summary>
/// Binds a role's block (<c>{ name, weights, options }</c>) to the installed component of that name: the name is
/// found in the catalog (or the nearest installed ones are suggested, and plugins that failed to load are named), the
/// weights path must exist, and the options are bound to the component's own options class.
/// </summary>
sealed class ComponentBinding(ComponentCatalog catalog, IReadOnlyList<PluginLoadFailure> loadFailures)
{
    public PlannedComponent? Bind(PlanningContext planning, PipelineRole role, ComponentBlock block, YamlNode node)
    {
        var contract = role.Contract();
        var noun = PipelineRoles.NounOf(contract);
        var nameNode = PipelineYaml.ValueNode(node, "name") ?? node;
        if (string.IsNullOrEmpty(block.Name))
        {
            var installed = catalog.Names(contract);
            planning.Problem(nameNode, $"{role.Key()}: 'name' is missing (installed: {(installed.Count > 0 ? string.Join(", ", installed) : "none")})");
            return null;
        }
        var entry = catalog.Find(contract, block.Name);
        if (entry == null)
        {
            var names = catalog.Names(contract);
            var message = names.Count == 0
                ? $"{role.Key()}: unknown {noun} plugin '{block.Name}': no {noun} plugins are installed (plugin folders: {string.Join(", ", PluginFolders.Roots([]))})"
                : $"{role.Key()}: {KeyNames.Unknown($"{noun} plugin", block.Name, names)}";
            if (loadFailures.Count > 0)
                message += "; plugins that failed to load (one may provide it): " +
                           string.Join("; ", loadFailures.Select(f => $"{f.AssemblyPath}: {f.Reason}"));
            planning.Problem(nameNode, message);
            return null;
        }
        string? weights = null;
        if (block.Weights != null)
        {
            weights = planning.Resolve(block.Weights);
            if (!File.Exists(weights) && !Directory.Exists(weights))
                planning.Problem(PipelineYaml.ValueNode(node, "weights"), $"{role.Key()}: weights file not found: {weights}");
        }
        var options = planning.Bind(block.Options, entry.OptionsType, $"{role.Key()}.options ({block.Name})", out bool ok);
        return ok ? new PlannedComponent { Role = role, Entry = entry, Options = options, WeightsPath = weights, Node = node } : null;
    }
}
