using RaePipeline.Abstractions;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Data;

/// <summary>
/// Raw (un-normalized) latent batches for stage-2 training and the statistics, as an endless seeded sequence (batch i is the same
/// whenever it is asked for): read from a <see cref="LatentCache"/> (each image or its mirror image chosen at
/// random when flips are on), or encoded on the fly from image batches (randomly flipped images, encoded under
/// no_grad).
/// </summary>
public sealed class LatentBatchSource : IDisposable
{
    readonly ShuffledBatches batches;
    readonly IEncoder? encoder;
    readonly Device device;
    readonly LatentCache? cache;

    LatentBatchSource(ShuffledBatches batches, IEncoder? encoder, LatentCache? cache, Device device)
    {
        this.batches = batches;
        this.encoder = encoder;
        this.cache = cache;
        this.device = device;
    }

    /// <summary>Batches read from <paramref name="cache"/> (taken over); both sources give the same order and flips for the same arguments.</summary>
    public static LatentBatchSource FromCache(LatentCache cache, int batchSize, long seed, bool randomFlip, BatchPrefetch prefetch, Device device,
        bool shuffle = true, bool dropLast = true) =>
        new(cache.Batches(batchSize, seed, randomFlip, prefetch, shuffle, dropLast), null, cache, device);

    public static LatentBatchSource Encoding(IImageDataset dataset, IEncoder encoder, int batchSize, long seed, bool randomFlip, BatchPrefetch prefetch, Device device,
        bool shuffle = true, bool dropLast = true) =>
        new(ShuffledBatches.OfImages(dataset, batchSize, seed, shuffle, randomFlip, dropLast, prefetch), encoder, null, device);

    public int BatchesPerEpoch => batches.BatchesPerEpoch;

    /// <summary>
    /// Rows [<paramref name="firstRow"/>, <paramref name="endRow"/>) of batch <paramref name="index"/> (a rank's slice
    /// of the global batch; only those images are read and encoded): raw latents (b, C, h, w) float32 and labels (b,)
    /// int64, on the device.
    /// </summary>
    public (Tensor Latents, Tensor Labels) Batch(long index, int firstRow, int endRow)
    {
        using var scope = NewDisposeScope();
        using var batch = batches.Batch(index, firstRow, endRow);
        Tensor latents;
        if (encoder is null)
        {
            latents = batch.Samples.to(device).alias(); // a handle of its own: the batch is disposed below
        }
        else
        {
            using var noGrad = torch.no_grad();
            latents = encoder.Encode(batch.Samples.to(device)).to(float32);
        }
        return (latents.MoveToOuterDisposeScope(), batch.Labels.to(device).alias().MoveToOuterDisposeScope());
    }

    public void Dispose()
    {
        batches.Dispose(); // its loads ahead read the cache
        cache?.Dispose();
    }
}
