using RaePipeline.Metrics;
using static TorchSharp.torch;

namespace RaePipeline.Evaluation;

/// <summary>
/// Images to evaluate, read batch by batch so that a 50k-image set never sits in memory whole: a folder of image
/// files or an ADM-style <c>.npz</c> (<c>arr_0</c>, N × H × W × 3 uint8).
/// </summary>
public abstract class ImageSource
{
    /// <summary>Where the images come from, for logs and errors.</summary>
    public abstract string Description { get; }

    /// <summary>Number of images (before any limit).</summary>
    public abstract long Count { get; }

    /// <summary>
    /// Batches (B, 3, H, W) float32 in [0, 1] of at most <paramref name="batchSize"/> images, the first
    /// <paramref name="limit"/> images only when it is positive. The caller owns (disposes) each batch.
    /// </summary>
    public abstract IEnumerable<Tensor> Batches(int batchSize, long limit);

    /// <summary>
    /// <see cref="Batches"/> with the class labels (B,) int64 of their images when the source knows them (the
    /// pipeline's data), else null. The caller owns (disposes) both.
    /// </summary>
    public virtual IEnumerable<(Tensor Images, Tensor? Labels)> LabelledBatches(int batchSize, long limit) =>
        Batches(batchSize, limit).Select(images => (images, (Tensor?)null));

    /// <summary>A folder (recursively, file names in ordinal order) or an npz file holding <c>arr_0</c>.</summary>
    public static ImageSource Open(string path)
    {
        if (Directory.Exists(path)) return new FolderImageSource(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"images not found: {path} (expected a folder of images or an .npz file)", path);
        if (!path.EndsWith(".npz", StringComparison.OrdinalIgnoreCase))
            throw new InvalidDataException($"{path}: expected a folder of images or an .npz file with 'arr_0' (N x H x W x 3 uint8)");
        if (GaussianStatistics.IsStatisticsFile(path) && !NpzImageSource.HasImages(path))
            throw new InvalidDataException($"{path} holds feature statistics (mu, sigma) and no images ('arr_0'); it can only be a reference");
        return new NpzImageSource(path);
    }

    protected static long Take(long count, long limit) => limit > 0 ? Math.Min(count, limit) : count;
}
