using RaePipeline.Pipeline;

namespace RaePipeline.Data;

/// <summary>Opens the dataset a pipeline's <c>data:</c> block describes.</summary>
public static class Datasets
{
    public static readonly string[] Sources = ["synthetic", "folder", "npz", "idx"];

    /// <summary>The <c>data.split</c> values of an IDX folder and the file-name prefix each stands for (MNIST's names).</summary>
    static readonly Dictionary<string, string> IdxSplits = new(StringComparer.OrdinalIgnoreCase) { ["train"] = "train", ["test"] = "t10k" };

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
            "idx" => OpenIdx(options, pipelineDirectory),
            _ => throw new DatasetException(
                $"data.source '{options.Source}' is not known (expected one of {string.Join(", ", Sources)})"),
        };
        return options.Limit > 0 && options.Limit < dataset.Count ? new DatasetSubset(dataset, options.Limit) : dataset;
    }

    static string RequirePath(DataOptions options, string pipelineDirectory)
    {
        if (string.IsNullOrWhiteSpace(options.Path))
            throw new DatasetException($"data.source '{options.Source}' needs data.path ({options.Source.ToLowerInvariant() switch
            {
                "npz" => "a .npz file",
                "idx" => "an IDX images file, or a folder of MNIST-named IDX files",
                _ => "a folder",
            }})");
        return Resolve(options.Path, pipelineDirectory);
    }

    static string Resolve(string path, string pipelineDirectory) =>
        Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(pipelineDirectory, path));

    /// <summary>
    /// <c>idx</c>: <c>path</c> is the images file (labels from <c>labels</c>, optional), or a folder holding MNIST's
    /// file names, <c>{train|t10k}-images-idx3-ubyte[.gz]</c> and <c>-labels-idx1-ubyte[.gz]</c>, picked by <c>split</c>.
    /// </summary>
    static IdxImageDataset OpenIdx(DataOptions options, string pipelineDirectory)
    {
        var path = RequirePath(options, pipelineDirectory);
        string? labels = string.IsNullOrWhiteSpace(options.Labels) ? null : Resolve(options.Labels, pipelineDirectory);
        if (!Directory.Exists(path)) return new IdxImageDataset(path, labels, options.ImageSize);
        if (!IdxSplits.TryGetValue(options.Split, out var prefix))
            throw new DatasetException($"data.split '{options.Split}' is not known (expected {string.Join(" or ", IdxSplits.Keys)})");
        string Find(string kind)
        {
            var candidates = new[] { $"{prefix}-{kind}-ubyte", $"{prefix}-{kind}-ubyte.gz" }.Select(n => Path.Combine(path, n)).ToList();
            return candidates.FirstOrDefault(File.Exists) ?? throw new DatasetException(
                $"{path}: no {options.Split} split here (looked for {string.Join(" and ", candidates.Select(Path.GetFileName))})", path);
        }
        return new IdxImageDataset(Find("images-idx3"), labels ?? Find("labels-idx1"), options.ImageSize);
    }
}
