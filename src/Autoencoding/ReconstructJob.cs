using Microsoft.Extensions.Logging;
using RaePipeline.Data;
using RaePipeline.Distributed;
using RaePipeline.Imaging;
using RaePipeline.Metrics;
using RaePipeline.Pipeline;
using RaePipeline.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Autoencoding;

/// <summary>Options of the <c>reconstruct</c> job.</summary>
public sealed class ReconstructJobOptions : ShardedJobOptions
{
    /// <summary>Images to reconstruct (file, folder, safetensors, npz); empty = the pipeline's data.</summary>
    public string? Input { get; set; }

    /// <summary>The grid PNG (original | reconstruction pairs), relative to the run folder.</summary>
    public string Output { get; set; } = "reconstruct/grid.png";

    /// <summary>At most this many images (0 = all; rFID wants thousands).</summary>
    public int Limit { get; set; } = 16;

    public int BatchSize { get; set; } = 16;
}

/// <summary>
/// <c>reconstruct</c>: encode (with the latent statistics when present) and decode, as RAE.encode/decode; writes a
/// grid with the first originals beside their reconstructions, records PSNR (dB) and SSIM (mean over the images,
/// clamped to [0, 1]), and writes both sets as npz for the rFID (<c>eval</c> with <c>samples:
/// reconstruct/reconstructions.npz</c>, <c>reference: reconstruct/originals.npz</c>); reconstructions of the
/// pipeline's data carry their labels (<c>arr_1</c>), so eval's probe says how recognizable they are. Each batch (both images as
/// uint8 and the per-image PSNR and SSIM) goes to a chunk in <c>reconstruct/chunks/</c> as soon as it is done, so a
/// killed run resumes from its finished batches; the outputs are joined from the chunks in batch order. Under MPI the
/// ranks reconstruct contiguous ranges of the batches and rank 0 writes; as a shard of an array job a process
/// reconstructs its shard only and <c>--merge</c> writes the outputs once every shard is done.
/// </summary>
public sealed class ReconstructJob : Job<ReconstructJobOptions>
{
    /// <summary>At most this many original | reconstruction pairs are shown in the grid.</summary>
    const int GridPairs = 32;

    public override string Name => "reconstruct";
    public override string Description => "original | reconstruction grid PNG, PSNR and SSIM (shardable)";

    protected override IEnumerable<JobProblem> Validate(JobValidationContext context, ReconstructJobOptions options)
    {
        foreach (var problem in context.Require(Name, PipelineRole.Encoder, PipelineRole.Decoder)) yield return problem;
        if (string.IsNullOrEmpty(options.Input) && context.Data.IsEmpty)
            yield return new JobProblem("input", "give --input or a 'data' block with images");
        if (options.BatchSize < 1) yield return new JobProblem("batch_size", "must be at least 1");
        foreach (var (key, message) in options.ShardProblems()) yield return new JobProblem(key, message);
    }

    protected override void Run(JobContext context, ReconstructJobOptions options)
    {
        using var precision = context.UsePrecision(training: false);
        var log = context.Logger("rae.reconstruct");
        var encoder = context.Components.Encoder;
        var decoder = context.Components.Decoder;
        var statistics = context.Components.Statistics;
        var (images, labels) = string.IsNullOrEmpty(options.Input)
            ? FromData(context, options.Limit)
            : (ImageInputs.Read(context.ResolvePath(options.Input), encoder.InputSize, options.Limit).Images, null);
        using var _ = images;
        var output = context.RunPath(options.Output);
        var folder = Path.GetDirectoryName(output)!;
        var group = context.ProcessGroup;
        var selection = options.Merge ? ShardSelection.Whole : options.Selection();
        var work = new ShardedBatches(new ChunkStore(Path.Combine(folder, "chunks"), Fingerprint(context, options, images)),
            selection, group, (int)images.shape[0], options.BatchSize);
        if (!options.Merge)
        {
            using var bar = context.Progress.Start("reconstruct", work.Mine.ItemCount, "img");
            bar.SetDone(work.ReusedItems);
            work.Run((start, end) =>
            {
                var batch = images[start..end];
                var z = encoder.Encode(batch.to(context.Device));
                if (statistics != null) z = statistics.Denormalize(statistics.Normalize(z));
                var decoded = decoder.Decode(z).cpu().clamp(0, 1);
                if (decoded.shape[2] != images.shape[2])
                    decoded = nn.functional.interpolate(decoded, [images.shape[2], images.shape[3]], mode: InterpolationMode.Bicubic).clamp(0, 1);
                var reconstructed = decoded.to(float32);
                return
                [
                    new("originals", PixelConversion.ToUint8Hwc(batch)),
                    new("reconstructions", PixelConversion.ToUint8Hwc(reconstructed)),
                    new("psnr", Psnr.PerImage(reconstructed, batch)),
                    new("ssim", Ssim.PerImage(reconstructed, batch)),
                ];
            }, n => bar.Advance(n), log, context.Cancellation);
            if (!selection.IsWhole)
            {
                log.LogInformation("{Shard} done: its reconstructions are in {Folder}; run reconstruct with --merge once every shard is done", selection, work.Store.Folder);
                return;
            }
        }
        if (!group.IsMain) return;
        work.RequireAll("run the shards that wrote them (the same command with --shard i/N), then --merge");
        double psnr, ssim;
        using (var perImage = work.Store.Joined(work.Batches, "psnr")) psnr = perImage.mean().item<double>();
        using (var perImage = work.Store.Joined(work.Batches, "ssim")) ssim = perImage.mean().item<double>();
        // Both sets as ADM-style npz files, so `eval` gives the rFID (samples: reconstructions.npz, reference: originals.npz).
        long[] shape = [images.shape[0], images.shape[2], images.shape[3], 3];
        // The data's labels go with both (arr_1, as the sample job's), so eval's probe can measure how recognizable the reconstructions are.
        using var labelTensor = labels == null ? null : torch.tensor(labels, int64);
        foreach (var (array, file) in new[] { ("originals", "originals.npz"), ("reconstructions", "reconstructions.npz") })
        {
            var arrays = new List<NpzArrayRows> { new("arr_0", ScalarType.Byte, shape, () => work.Store.Rows(work.Batches, array)) };
            if (labelTensor is not null) arrays.Add(new("arr_1", ScalarType.Int64, [labels!.Length], () => [labelTensor]));
            NpzFile.WriteRows(Path.Combine(folder, file), arrays);
        }
        using (var scope = NewDisposeScope())
        {
            long shown = Math.Min(GridPairs, images.shape[0]);
            Tensor First(string file)
            {
                using var archive = NpzArchive.Open(Path.Combine(folder, file));
                return PixelConversion.FromUint8Hwc(archive.ReadRows("arr_0", 0, shown));
            }
            ImageGrid.Save(output, torch.stack([First("originals.npz"), First("reconstructions.npz")], 1).flatten(0, 1), columns: 8);
        }
        work.Store.Delete(work.Batches);
        context.Results.Record("reconstruct/psnr", psnr);
        context.Results.Record("reconstruct/ssim", ssim);
        log.LogInformation(
            "reconstructed {Count} images: PSNR {Psnr:F2} dB, SSIM {Ssim:F4}; grid {Output}; originals.npz and reconstructions.npz beside it for rFID (eval)",
            images.shape[0], psnr, ssim, output);
    }

    /// <summary>What the reconstructions depend on: the images, the encoder, decoder and statistics, the batching and the precision.</summary>
    static string Fingerprint(JobContext context, ReconstructJobOptions options, Tensor images)
    {
        var components = context.Components;
        using var fingerprint = new RunFingerprint()
            .Add($"reconstruct: input {(string.IsNullOrEmpty(options.Input) ? "data" : context.ResolvePath(options.Input))}, limit {options.Limit}, " +
                 $"batch {options.BatchSize}, encoder {components.NameOf(PipelineRole.Encoder)} {components.Encoder.LatentShape}, " +
                 $"decoder {components.NameOf(PipelineRole.Decoder)}, precision {context.Precision}")
            .AddSummary(images).AddComponent(components.Encoder).AddModule(components.Decoder.Module);
        components.Statistics?.AddTo(fingerprint);
        return fingerprint.Finish();
    }

    /// <summary>The first images of the pipeline's data (N, 3, S, S) and their labels.</summary>
    static (Tensor Images, long[] Labels) FromData(JobContext context, int limit)
    {
        var dataset = Datasets.Open(context.Data, context.PipelineDirectory, context.Seed);
        using var scope = NewDisposeScope();
        var count = limit > 0 ? Math.Min(limit, dataset.Count) : dataset.Count;
        var items = Enumerable.Range(0, count).Select(dataset.Get).ToList();
        return (torch.stack(items.Select(item => item.Image).ToList()).MoveToOuterDisposeScope(), items.Select(item => (long)item.Label).ToArray());
    }
}
