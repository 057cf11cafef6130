using RaePipeline.Abstractions;
using RaePipeline.Host.Configuration;
using RaePipeline.Latents;
using RaePipeline.Pipeline;
using TorchSharp;

namespace RaePipeline.Host.Composition.Planning;

/// <summary>
/// Asks every planned component what it will look like (cheap: configs, no weights) and checks that the roles fit:
/// the decoder's and denoisers' latents are the encoder's, and the latent statistics file has the encoder's shape.
/// A component's <see cref="ComponentConfigurationException"/> is located at the option it names.
/// </summary>
static class ShapeChecks
{
    public static void Describe(PlanningContext planning, IReadOnlyDictionary<PipelineRole, PlannedComponent> components)
    {
        LatentShape? encoderLatent = null;
        foreach (var role in PipelineRoles.All)
        {
            if (!components.TryGetValue(role, out var planned) || planned.Entry.Describe == null) continue;
            var context = new ComponentContext
            {
                Device = torch.CPU,
                WeightsPath = planned.WeightsPath,
                BaseDirectory = planning.Yaml.Directory,
                EncoderLatent = encoderLatent,
            };
            try
            {
                planned.Description = planned.Entry.Describe(context, planned.Options);
            }
            catch (ComponentConfigurationException e)
            {
                var optionNode = e.OptionKey == null ? null
                    : PipelineYaml.ValueNode(PipelineYaml.ValueNode(planned.Node, "options"), e.OptionKey) ?? PipelineYaml.ValueNode(planned.Node, e.OptionKey);
                var named = e.OptionKey == null || e.Message.Contains(e.OptionKey, StringComparison.Ordinal) ? "" : $"{e.OptionKey}: ";
                planning.Problem(optionNode ?? planned.Node, $"{role.Key()} '{planned.Entry.Name}': {named}{e.Message}");
                continue;
            }
            planning.Warnings.AddRange(planned.Description.Warnings.Select(w => $"{role.Key()} '{planned.Entry.Name}': {w}"));
            if (role == PipelineRole.Encoder) encoderLatent = planned.Description.Latent;
        }
        if (!components.TryGetValue(PipelineRole.Encoder, out var encoder) || encoder.Description?.Latent is not { } produced)
            return;
        foreach (var role in new[] { PipelineRole.Decoder, PipelineRole.Denoiser, PipelineRole.GuideDenoiser })
        {
            if (!components.TryGetValue(role, out var planned) || planned.Description?.Latent is not { } expected || expected == produced) continue;
            var what = expected.Channels != produced.Channels
                ? $"{expected.Channels} latent channels, but encoder '{encoder.Entry.Name}' produces {produced.Channels}"
                : $"a {expected.Height}x{expected.Width} latent grid, but encoder '{encoder.Entry.Name}' produces {produced.Height}x{produced.Width}";
            planning.Problem(planned.Node, $"{role.Key()} '{planned.Entry.Name}' expects latents {expected}: {what} {produced}");
        }
    }

    /// <summary>
    /// The statistics file must exist and, when the encoder's latent is known, have its shape. Reading it is cheap
    /// (one (C, h, w) tensor or two), so validation does.
    /// </summary>
    public static string? Statistics(PlanningContext planning, string? configured, IReadOnlyDictionary<PipelineRole, PlannedComponent> components)
    {
        if (configured == null) return null;
        var node = PipelineYaml.ValueNode(planning.Yaml.Root, "statistics");
        var path = planning.Resolve(configured);
        if (!File.Exists(path))
        {
            planning.Problem(node, $"statistics file not found: {path}");
            return path;
        }
        LatentShape shape;
        try
        {
            using var scope = torch.NewDisposeScope();
            using var statistics = LatentStatistics.Load(path);
            shape = statistics.Shape;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            planning.Problem(node, $"statistics file {path} cannot be read: {e.Message}");
            return path;
        }
        if (components.TryGetValue(PipelineRole.Encoder, out var encoder) && encoder.Description?.Latent is { } latent && latent != shape)
            planning.Problem(node, $"statistics file {path} holds statistics of shape {shape}, but encoder '{encoder.Entry.Name}' produces latents {latent}");
        return path;
    }
}
