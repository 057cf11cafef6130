namespace RaePipeline.Data;

/// <summary>At most <c>limit</c> images of a dataset, spread evenly over it (so every class of a class-major set keeps images).</summary>
public sealed class DatasetSubset : IImageDataset
{
    readonly IImageDataset source;
    readonly int[] indices;

    public DatasetSubset(IImageDataset source, int limit)
    {
        if (limit < 1) throw new ArgumentException($"limit must be positive, got {limit}");
        this.source = source;
        int count = Math.Min(limit, source.Count);
        indices = Enumerable.Range(0, count).Select(i => (int)((long)i * source.Count / count)).ToArray();
    }

    public int Count => indices.Length;
    public int NumClasses => source.NumClasses;
    public int ImageSize => source.ImageSize;
    public string Identity => $"{source.Identity} limit={Count}";

    public LabeledImage Get(int index) => source.Get(indices[index]);
}
