using RaePipeline.Pipeline;

namespace RaePipeline.Data;

/// <summary>Opens the dataset a pipeline's <c>data:</c> block describes.</summary>
public static class Datasets
{
    public static readonly string[] Sources = ["synthetic", "folder", "npz"];

    /// <param name="pipelineDirectory">Folder relative <c>data.path</c> values are resolved against.</param>
    /// <param name="seed">Seed of the synthetic set (the pipeline seed).</param>
    public static IImageDataset Open(DataOptions options, string pipelineDirectory, long seed)
    {
        if (options.IsEmpty)
            throw new DatasetException($"the pipeline has no 'data' block (data.source must be one of {string.Join(", ", Sources)})");
        if (options.ImageSize < 1)
            throw new DatasetException($"data.image_size must be positive, got {options.ImageSize}");
        if (options.Limit < 0)
            throw new DatasetException($"data.limit must be 0 (all images) or positive, got {options.Limit}");
        IImageDataset dataset = options.Source.ToLowerInvariant() switch
        {
            "synthetic" => new SyntheticClassImages(options.NumClasses, options.ImagesPerClass, options.ImageSize, seed),
            "folder" => new ImageFolderDataset(RequirePath(options, pipelineDirectory), options.ImageSize),
            "npz" => new NpzImageDataset(RequirePath(options, pipelineDirectory), options.ImageSize),
            _ => throw new DatasetException(
                $"data.source '{options.Source}' is not known (expected one of {string.Join(", ", Sources)})"),
        };
        return options.Limit > 0 && options.Limit < dataset.Count ? new DatasetSubset(dataset, options.Limit) : dataset;
    }

    static string RequirePath(DataOptions options, string pipelineDirectory)
    {
        if (string.IsNullOrWhiteSpace(options.Path))
            throw new DatasetException($"data.source '{options.Source}' needs data.path (a {(options.Source == "npz" ? ".npz file" : "folder")})");
        return Path.IsPathRooted(options.Path) ? options.Path : Path.GetFullPath(Path.Combine(pipelineDirectory, options.Path));
    }
}
