using RaePipeline.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.DecoderTraining;

/// <summary>
/// The stage-1 batches: images (B, 3, S, S) in [0, 1] in a seeded order without flips and, when the pipeline has a
/// latent cache, their raw latents (B, C, h, w) read from it instead of encoding every step (the encoder is frozen,
/// so the cache holds exactly what it would return). Both sequences are drawn from the same seed, count and batch
/// size, so row i of a latent batch is the latent of row i of the image batch; the labels are compared to catch a
/// cache of other data.
/// </summary>
public sealed class DecoderTrainingBatches : IDisposable
{
    readonly ShuffledBatches images;
    readonly ShuffledBatches? latents;
    readonly LatentCache? cache;

    DecoderTrainingBatches(ShuffledBatches images, LatentCache? cache, ShuffledBatches? latents)
    {
        this.images = images;
        this.cache = cache;
        this.latents = latents;
    }

    /// <param name="cache">The cache of <paramref name="dataset"/> under the frozen encoder, or null to encode every batch. Taken over.</param>
    public static DecoderTrainingBatches Open(IImageDataset dataset, LatentCache? cache, int batchSize, long seed, BatchPrefetch prefetch)
    {
        if (cache != null && cache.Count != dataset.Count)
            throw new InvalidOperationException($"latent cache {cache.Folder} holds {cache.Count} latents, the data {dataset.Count} images");
        var images = ShuffledBatches.OfImages(dataset, batchSize, seed, shuffle: true, randomFlip: false, prefetch: prefetch);
        var latents = cache?.Batches(batchSize, seed, randomFlip: false, prefetch);
        return new DecoderTrainingBatches(images, cache, latents);
    }

    public int BatchesPerEpoch => images.BatchesPerEpoch;

    /// <summary>Whether the latents come from the cache (<see cref="Batch"/> returns them) or must be encoded.</summary>
    public bool FromCache => latents != null;

    /// <summary>
    /// Rows [<paramref name="firstRow"/>, <paramref name="endRow"/>) of batch <paramref name="index"/>: the images and,
    /// from the cache, their raw latents (null without a cache) as the samples of a second batch. The caller disposes both.
    /// </summary>
    public (LabeledBatch Images, LabeledBatch? Latents) Batch(long index, int firstRow, int endRow)
    {
        var imageBatch = images.Batch(index, firstRow, endRow);
        if (latents == null) return (imageBatch, null);
        var latentBatch = latents.Batch(index, firstRow, endRow);
        bool sameLabels;
        using (NewDisposeScope()) sameLabels = latentBatch.Labels.eq(imageBatch.Labels).all().item<bool>();
        if (!sameLabels)
        {
            imageBatch.Dispose();
            latentBatch.Dispose();
            throw new InvalidOperationException(
                $"latent cache {cache!.Folder}: the labels of batch {index} differ from the data's; the cache holds other data (delete it to re-encode)");
        }
        return (imageBatch, latentBatch);
    }

    public void Dispose()
    {
        images.Dispose();
        latents?.Dispose(); // its loads ahead read the cache
        cache?.Dispose();
    }
}
