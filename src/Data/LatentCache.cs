using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using RaePipeline.Abstractions;
using RaePipeline.Pipeline;
using RaePipeline.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Data;

/// <summary>
/// A dataset encoded once by a frozen encoder, for stage-2 training without re-encoding every epoch. Every image
/// is encoded as it is and horizontally flipped, and the raw latents (no latent statistics applied) are stored with
/// their labels in safetensors shards (<c>shard-NNNNN.safetensors</c>: <c>latents</c> and <c>latents_flipped</c>
/// (n, C, h, w) F32, <c>labels</c> (n,) I64) inside a folder named after a hash of the encoder name, its latent
/// shape, input size and image normalization and the dataset's identity, so a different encoder or data never
/// reuses another's cache. Opening an existing cache re-encodes its first image and compares it with the stored
/// latent, which catches different weights or options under the same name; a stale or incomplete cache is rebuilt
/// (complete shards of an interrupted build are kept). <c>manifest.json</c> is written last and marks a cache as
/// complete. Samples are read from the shards on demand.
/// </summary>
public sealed class LatentCache : IDisposable
{
    const string ManifestName = "manifest.json";
    const int FormatVersion = 1;

    readonly SafeFileHandle[] shardHandles;
    readonly long[][] latentOffsets; // per shard: byte offset of [latents, latents_flipped]
    readonly long[] labels;
    readonly long sampleBytes;

    LatentCache(string folder, LatentShape shape, int numClasses, int shardSize, long[] labels)
    {
        Folder = folder;
        Shape = shape;
        NumClasses = numClasses;
        ShardSize = shardSize;
        this.labels = labels;
        sampleBytes = shape.Elements * sizeof(float);
        int shards = (labels.Length + shardSize - 1) / shardSize;
        shardHandles = new SafeFileHandle[shards];
        latentOffsets = new long[shards][];
        for (int s = 0; s < shards; s++)
        {
            var path = ShardPath(folder, s);
            var header = SafeTensorsFile.ReadHeader(path);
            latentOffsets[s] =
            [
                header.DataStart + header.Entries.Single(e => e.Name == "latents").Begin,
                header.DataStart + header.Entries.Single(e => e.Name == "latents_flipped").Begin,
            ];
            shardHandles[s] = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.RandomAccess);
        }
    }

    public string Folder { get; }
    public LatentShape Shape { get; }
    public int NumClasses { get; }
    public int ShardSize { get; }
    public int Count => labels.Length;

    /// <summary>
    /// Opens the cache of <paramref name="dataset"/> encoded by <paramref name="encoder"/> under
    /// <paramref name="cacheRoot"/>, encoding what is missing first (batches of <paramref name="batchSize"/> on
    /// <paramref name="device"/>, under no_grad).
    /// </summary>
    public static LatentCache Open(string cacheRoot, IImageDataset dataset, IEncoder encoder, string encoderName,
        torch.Device device, int batchSize = 32, int shardSize = 1024, ILogger? logger = null,
        ProgressReporter? progress = null, CancellationToken cancellation = default)
    {
        if (batchSize < 1) throw new ArgumentException($"batch size must be positive, got {batchSize}");
        if (shardSize < 1) throw new ArgumentException($"shard size must be positive, got {shardSize}");
        var key = KeyText(dataset, encoder, encoderName, shardSize);
        var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..16].ToLowerInvariant();
        var folder = Path.Combine(Path.GetFullPath(cacheRoot), $"{Sanitize(encoderName)}-{hash}");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "key.txt"), key);

        if (File.Exists(ShardPath(folder, 0)) && !FirstLatentMatches(folder, dataset, encoder, device))
        {
            logger?.LogWarning("latent cache {Folder} was written by another encoder state (its first latent differs); re-encoding", folder);
            foreach (var file in Directory.GetFiles(folder, "shard-*.safetensors")) File.Delete(file);
            File.Delete(Path.Combine(folder, ManifestName));
        }
        if (!File.Exists(Path.Combine(folder, ManifestName)))
            Build(folder, dataset, encoder, device, batchSize, shardSize, logger, progress, cancellation);
        else
            logger?.LogInformation("using latent cache {Folder} ({Count} images, both flips)", folder, dataset.Count);

        var labels = new long[dataset.Count];
        int shards = (dataset.Count + shardSize - 1) / shardSize;
        for (int s = 0; s < shards; s++)
        {
            var bytes = ReadEntry(ShardPath(folder, s), "labels", 0, -1);
            Buffer.BlockCopy(bytes, 0, labels, s * shardSize * sizeof(long), bytes.Length);
        }
        return new LatentCache(folder, encoder.LatentShape, dataset.NumClasses, shardSize, labels);
    }

    /// <summary>How long the other ranks wait for rank 0 to encode the latent cache.</summary>
    static readonly TimeSpan FillTimeout = TimeSpan.FromDays(7);

    /// <summary>
    /// The pipeline's cache (<c>data.latent_cache</c>) of <paramref name="dataset"/> under its encoder, for a job of
    /// <paramref name="context"/>: rank 0 encodes what is missing (batches of <paramref name="batchSize"/>) while the
    /// other ranks wait, as long as it takes, then every rank opens it. Whichever job comes first (stats,
    /// train-decoder, train) fills it; the ones after read it.
    /// </summary>
    public static LatentCache OpenForJob(JobContext context, IImageDataset dataset, int batchSize, ILogger log)
    {
        if (string.IsNullOrWhiteSpace(context.Data.LatentCache))
            throw new InvalidOperationException("the pipeline's data block names no latent_cache folder");
        var group = context.ProcessGroup;
        LatentCache Open() => LatentCache.Open(context.ResolvePath(context.Data.LatentCache), dataset, context.Components.Encoder,
            context.Components.NameOf(PipelineRole.Encoder), context.Device, batchSize,
            logger: group.IsMain ? log : null, progress: context.Progress, cancellation: context.Cancellation);
        var cache = group.IsMain ? Open() : null;
        group.Barrier(FillTimeout);
        cache ??= Open();
        log.LogInformation("latents from the cache {Folder}", cache.Folder);
        return cache;
    }

    /// <summary>Raw latent <paramref name="index"/> (C, h, w) float32, of the flipped image when <paramref name="flipped"/>.</summary>
    public LabeledSample Read(int index, bool flipped)
    {
        if (index < 0 || index >= Count) throw new ArgumentOutOfRangeException(nameof(index), $"latent {index} of {Count}");
        int shard = index / ShardSize, row = index % ShardSize;
        long offset = latentOffsets[shard][flipped ? 1 : 0] + row * sampleBytes;
        var latent = torch.empty([Shape.Channels, Shape.Height, Shape.Width], float32);
        // Straight into the tensor's native memory: a managed buffer per sample (100 KB for 512 x 7 x 7, on the large
        // object heap) is garbage only a full collection frees, which piled up at gigabytes per minute of training.
        int read = RandomAccess.Read(shardHandles[shard], latent.bytes, offset);
        if (read != sampleBytes)
        {
            latent.Dispose();
            throw new DatasetException($"{ShardPath(Folder, shard)}: latent {row} is truncated (read {read} of {sampleBytes} bytes)", Folder);
        }
        return new LabeledSample(latent, (int)labels[index]);
    }

    /// <summary>
    /// Shuffled batches of raw latents (B, C, h, w), each image's flipped twin taken at random when
    /// <paramref name="randomFlip"/>, read ahead on background threads when <paramref name="prefetch"/> is on (dispose the batches before the cache).
    /// </summary>
    public ShuffledBatches Batches(int batchSize, long seed, bool randomFlip, BatchPrefetch prefetch, bool shuffle = true, bool dropLast = true) =>
        new(Count, Read, batchSize, seed, shuffle, randomFlip, dropLast, prefetch);

    public void Dispose()
    {
        foreach (var handle in shardHandles) handle.Dispose();
    }

    static void Build(string folder, IImageDataset dataset, IEncoder encoder, torch.Device device, int batchSize,
        int shardSize, ILogger? logger, ProgressReporter? progress, CancellationToken cancellation)
    {
        int shards = (dataset.Count + shardSize - 1) / shardSize;
        logger?.LogInformation("encoding {Count} images (and their mirror images) into latent cache {Folder}", dataset.Count, folder);
        using var bar = progress?.Start("latent cache", dataset.Count, "img");
        for (int s = 0; s < shards; s++)
        {
            int first = s * shardSize, count = Math.Min(shardSize, dataset.Count - first);
            var path = ShardPath(folder, s);
            if (ShardComplete(path, count, encoder.LatentShape))
            {
                bar?.Advance(count);
                continue;
            }
            var plain = new List<Tensor>();
            var flipped = new List<Tensor>();
            var shardLabels = new long[count];
            try
            {
                for (int b = 0; b < count; b += batchSize)
                {
                    cancellation.ThrowIfCancellationRequested();
                    int size = Math.Min(batchSize, count - b);
                    using var scope = NewDisposeScope();
                    var images = new Tensor[size];
                    for (int i = 0; i < size; i++)
                    {
                        var item = dataset.Get(first + b + i);
                        images[i] = item.Image;
                        shardLabels[b + i] = item.Label;
                    }
                    var batch = torch.stack(images).to(device);
                    plain.Add(Encode(encoder, batch).MoveToOuterDisposeScope());
                    flipped.Add(Encode(encoder, batch.flip(-1)).MoveToOuterDisposeScope());
                    bar?.Advance(size);
                }
                using var latents = torch.cat(plain);
                using var latentsFlipped = torch.cat(flipped);
                using var labelTensor = torch.tensor(shardLabels, int64);
                SafeTensorsFile.Write(path, new Dictionary<string, Tensor>
                {
                    ["latents"] = latents,
                    ["latents_flipped"] = latentsFlipped,
                    ["labels"] = labelTensor,
                });
            }
            finally
            {
                foreach (var t in plain.Concat(flipped)) t.Dispose();
            }
        }
        var manifest = new Dictionary<string, object>
        {
            ["format"] = FormatVersion,
            ["count"] = dataset.Count,
            ["shards"] = shards,
            ["shard_size"] = shardSize,
            ["latent_shape"] = new[] { encoder.LatentShape.Channels, encoder.LatentShape.Height, encoder.LatentShape.Width },
            ["num_classes"] = dataset.NumClasses,
            ["dataset"] = dataset.Identity,
        };
        AtomicFile.Write(Path.Combine(folder, ManifestName),
            stream => JsonSerializer.Serialize(stream, manifest, new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>images (B, 3, S, S) on the encoder's device -> raw latents (B, C, h, w) float32 on the CPU.</summary>
    static Tensor Encode(IEncoder encoder, Tensor images)
    {
        using var noGrad = torch.no_grad();
        var latents = encoder.Encode(images);
        var expected = encoder.LatentShape.WithBatch(images.shape[0]);
        if (!latents.shape.SequenceEqual(expected))
            throw new InvalidOperationException(
                $"the encoder returned latents of shape [{string.Join(", ", latents.shape)}], its LatentShape says [{string.Join(", ", expected)}]");
        return latents.to(float32).cpu();
    }

    static bool ShardComplete(string path, int count, LatentShape shape)
    {
        if (!File.Exists(path)) return false;
        try
        {
            var header = SafeTensorsFile.ReadHeader(path);
            long[] expected = shape.WithBatch(count);
            return header.Entries.Any(e => e.Name == "latents" && e.DType == "F32" && e.Shape.SequenceEqual(expected))
                   && header.Entries.Any(e => e.Name == "latents_flipped" && e.DType == "F32" && e.Shape.SequenceEqual(expected))
                   && header.Entries.Any(e => e.Name == "labels" && e.DType == "I64" && e.Shape.SequenceEqual([(long)count]));
        }
        catch (WeightsFormatException)
        {
            return false;
        }
    }

    /// <summary>Re-encodes image 0 and compares it with the stored latent (tolerance for thread-count rounding).</summary>
    static bool FirstLatentMatches(string folder, IImageDataset dataset, IEncoder encoder, torch.Device device)
    {
        var shape = encoder.LatentShape;
        byte[] bytes;
        try
        {
            bytes = ReadEntry(ShardPath(folder, 0), "latents", 0, shape.Elements * sizeof(float));
        }
        catch (Exception e) when (e is WeightsFormatException or InvalidDataException)
        {
            return false;
        }
        using var scope = NewDisposeScope();
        var stored = torch.empty([shape.Channels, shape.Height, shape.Width], float32);
        bytes.CopyTo(stored.bytes);
        var image = dataset.Get(0).Image.unsqueeze(0).to(device);
        var fresh = Encode(encoder, image)[0];
        double error = (fresh - stored).abs().max().item<float>();
        double scale = Math.Max(stored.abs().max().item<float>(), 1e-6);
        return error <= 1e-3 * scale;
    }

    /// <summary>Bytes [offset, offset + length) of tensor <paramref name="name"/> of a shard (length -1: to its end).</summary>
    static byte[] ReadEntry(string path, string name, long offset, long length)
    {
        var header = SafeTensorsFile.ReadHeader(path);
        var entry = header.Entries.FirstOrDefault(e => e.Name == name)
                    ?? throw new InvalidDataException($"{path}: latent cache shard has no '{name}' tensor");
        if (length < 0) length = entry.End - entry.Begin - offset;
        if (offset + length > entry.End - entry.Begin)
            throw new InvalidDataException($"{path}: '{name}' holds {entry.End - entry.Begin} bytes, fewer than {offset + length}");
        using var handle = File.OpenHandle(path);
        var bytes = new byte[length];
        int read = RandomAccess.Read(handle, bytes, header.DataStart + entry.Begin + offset);
        if (read != length) throw new InvalidDataException($"{path}: '{name}' is truncated");
        return bytes;
    }

    static string KeyText(IImageDataset dataset, IEncoder encoder, string encoderName, int shardSize) =>
        string.Create(CultureInfo.InvariantCulture,
            $"latent-cache v{FormatVersion}\nencoder={encoderName}\nlatent_shape={encoder.LatentShape}\n" +
            $"input_size={encoder.InputSize}\nnormalization={encoder.ImageNormalization}\nshard_size={shardSize}\n" +
            $"dataset={dataset.Identity}\n");

    static string ShardPath(string folder, int shard) =>
        Path.Combine(folder, string.Create(CultureInfo.InvariantCulture, $"shard-{shard:D5}.safetensors"));

    static string Sanitize(string name) =>
        new(name.Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_').ToArray());
}
