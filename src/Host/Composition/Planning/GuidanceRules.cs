using RaePipeline.FlowMatching;
using RaePipeline.Host.Configuration;
using RaePipeline.Pipeline;
using YamlDotNet.RepresentationModel;

namespace RaePipeline.Host.Composition.Planning;

/// <summary>
/// The <c>guidance:</c> block: its method (one of <see cref="GuidanceMethod"/>), scale and interval, and the
/// <c>guide</c> denoiser AutoGuidance needs, bound like any role's block.
/// </summary>
static class GuidanceRules
{
    /// <param name="namedRoles">Gets the guide's role when the block names one, even if that block has problems.</param>
    public static GuidanceOptions Plan(PlanningContext planning, ComponentBinding binding, YamlMappingNode? node,
        Dictionary<PipelineRole, PlannedComponent> components, HashSet<PipelineRole> namedRoles)
    {
        if (node == null) return new GuidanceOptions();
        var withoutGuide = new YamlMappingNode(node.Children.Where(kv => KeyNames.Normalize((kv.Key as YamlScalarNode)?.Value ?? "") != "guide"));
        var guidance = (GuidanceOptions)planning.Bind(withoutGuide, typeof(GuidanceOptions), "guidance", out _);
        if (guidance.Interval.Length != 2 || !(guidance.Interval[0] < guidance.Interval[1]))
            planning.Problem(PipelineYaml.ValueNode(node, "interval"), "guidance.interval: expected [t_min, t_max] with t_min < t_max");
        var guideNode = PipelineYaml.ValueNode(node, "guide");
        if (guidance.Method == GuidanceMethod.Autoguidance && guideNode == null)
            planning.Problem(node, "guidance: method autoguidance needs a 'guide' block naming the weaker denoiser");
        if (guideNode == null) return guidance;
        namedRoles.Add(PipelineRole.GuideDenoiser);
        var block = (ComponentBlock)planning.Bind(guideNode, typeof(ComponentBlock), "guidance.guide", out bool ok);
        if (ok && binding.Bind(planning, PipelineRole.GuideDenoiser, block, guideNode) is { } guide)
            components[PipelineRole.GuideDenoiser] = guide;
        return guidance;
    }
}
