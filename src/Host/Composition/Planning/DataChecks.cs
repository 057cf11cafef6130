using RaePipeline.Data;
using RaePipeline.Host.Configuration;
using RaePipeline.Pipeline;

namespace RaePipeline.Host.Composition.Planning;

/// <summary>
/// The <c>data:</c> block, checked without reading images: a known source, a usable image size, the folder or file
/// it names, and, where the class count is known cheaply (synthetic, folder sub-folders), that the denoiser has a
/// label for every class.
/// </summary>
static class DataChecks
{
    public static void Check(PlanningContext planning, DataOptions data, IReadOnlyDictionary<PipelineRole, PlannedComponent> components)
    {
        if (data.IsEmpty) return;
        var node = PipelineYaml.ValueNode(planning.Yaml.Root, "data");
        var source = data.Source.ToLowerInvariant();
        if (!Datasets.Sources.Contains(source))
        {
            planning.Problem(PipelineYaml.ValueNode(node, "source") ?? node, $"data.source: {KeyNames.Unknown("source", data.Source, Datasets.Sources)}");
            return;
        }
        var sizeNode = PipelineYaml.ValueNode(node, "image_size") ?? node;
        if (data.ImageSize < 1)
            planning.Problem(sizeNode, $"data.image_size: must be positive, got {data.ImageSize}");
        else if (source == "synthetic" && data.ImageSize < SyntheticClassImages.MinimumImageSize)
            planning.Problem(sizeNode, $"data.image_size: synthetic images are at least {SyntheticClassImages.MinimumImageSize} pixels wide, got {data.ImageSize}");
        if (data.Limit < 0)
            planning.Problem(PipelineYaml.ValueNode(node, "limit"), $"data.limit: must be 0 (all images) or positive, got {data.Limit}");
        int? classes = source == "synthetic" ? data.NumClasses : null;
        if (source == "synthetic" && data.NumClasses < 1)
            planning.Problem(PipelineYaml.ValueNode(node, "num_classes"), $"data.num_classes: must be at least 1, got {data.NumClasses}");
        if (source is "folder" or "npz")
        {
            var pathNode = PipelineYaml.ValueNode(node, "path") ?? node;
            if (string.IsNullOrWhiteSpace(data.Path))
                planning.Problem(pathNode, $"data.path: source '{source}' needs a path (a {(source == "npz" ? ".npz file" : "folder with one sub-folder per class")})");
            else if (source == "folder")
                classes = FolderClasses(planning, pathNode, planning.Resolve(data.Path));
            else if (!File.Exists(planning.Resolve(data.Path)))
                planning.Problem(pathNode, $"data.path: npz file not found: {planning.Resolve(data.Path)}");
        }
        if (classes is { } count && components.TryGetValue(PipelineRole.Denoiser, out var denoiser)
            && denoiser.Description?.NumClasses is { } known && count > known)
            planning.Problem(denoiser.Node,
                $"denoiser '{denoiser.Entry.Name}' knows {known} classes, but the data has {count} (set its num_classes to {count}, or use fewer classes)");
    }

    static int? FolderClasses(PlanningContext planning, YamlDotNet.RepresentationModel.YamlNode? pathNode, string folder)
    {
        if (!Directory.Exists(folder))
        {
            planning.Problem(pathNode, $"data.path: data folder not found: {folder}");
            return null;
        }
        int classes = Directory.GetDirectories(folder).Length;
        if (classes == 0)
            planning.Problem(pathNode, $"data.path: {folder} has no class sub-folders (expected {folder}/<class>/<image files>)");
        return classes == 0 ? null : classes;
    }
}
