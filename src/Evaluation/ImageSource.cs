using RaePipeline.Metrics;
using static TorchSharp.torch;

namespace RaePipeline.Evaluation;

/// <summary>
/// Images to evaluate, read batch by batch so that a 50k-image set never sits in memory whole: a folder of image
/// files, an ADM-style <c>.npz</c> (<c>arr_0</c>, N × H × W × 3 uint8) or the pipeline's data; any range of
/// images is read alone, so a shard or rank decodes only its own batches.
/// </summary>
public abstract class ImageSource
{
    /// <summary>Where the images come from, for logs and errors.</summary>
    public abstract string Description { get; }

    /// <summary>What the images are, for the fingerprint of partial results: the description and, for files, their sizes and times.</summary>
    public abstract string Identity { get; }

    /// <summary>Number of images (before any limit).</summary>
    public abstract long Count { get; }

    /// <summary>The number of images the set has under <paramref name="limit"/> (0 = all).</summary>
    public long Total(long limit) => limit > 0 ? Math.Min(Count, limit) : Count;

    /// <summary>
    /// Images [<paramref name="start"/>, <paramref name="end"/>) of the set <paramref name="limit"/> selects, read
    /// without touching the others: (B, 3, H, W) float32 in [0, 1], and their class labels (B,) int64 when the source
    /// knows them (the pipeline's data), else null. The caller owns (disposes) both.
    /// </summary>
    public abstract (Tensor Images, Tensor? Labels) Read(long start, long end, long limit);

    /// <summary>
    /// Batches (B, 3, H, W) float32 in [0, 1] of at most <paramref name="batchSize"/> images, the first
    /// <paramref name="limit"/> images only when it is positive. The caller owns (disposes) each batch.
    /// </summary>
    public IEnumerable<Tensor> Batches(int batchSize, long limit) =>
        LabelledBatches(batchSize, limit).Select(batch =>
        {
            batch.Labels?.Dispose();
            return batch.Images;
        });

    /// <summary><see cref="Batches"/> with the labels of their images (see <see cref="Read"/>). The caller owns (disposes) both.</summary>
    public IEnumerable<(Tensor Images, Tensor? Labels)> LabelledBatches(int batchSize, long limit)
    {
        long total = Total(limit);
        for (long start = 0; start < total; start += batchSize)
            yield return Read(start, Math.Min(total, start + batchSize), limit);
    }

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

}
