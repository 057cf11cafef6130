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
public sealed class ReconstructJobOptions
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
/// grid with each original beside its reconstruction, records PSNR (dB) and SSIM (images clamped to [0, 1]), and
/// writes both sets as npz for the rFID (<c>eval</c> with <c>samples: reconstruct/reconstructions.npz</c>,
/// <c>reference: reconstruct/originals.npz</c>). Under MPI the ranks reconstruct contiguous ranges of the batches and
/// rank 0 scores and writes what they gather.
/// </summary>
public sealed class ReconstructJob : Job<ReconstructJobOptions>
{
    public override string Name => "reconstruct";
    public override string Description => "original | reconstruction grid PNG and PSNR";

    protected override IEnumerable<JobProblem> Validate(JobValidationContext context, ReconstructJobOptions options)
    {
        foreach (var problem in context.Require(Name, PipelineRole.Encoder, PipelineRole.Decoder)) yield return problem;
        if (string.IsNullOrEmpty(options.Input) && context.Data.IsEmpty)
            yield return new JobProblem("input", "give --input or a 'data' block with images");
    }

    protected override void Run(JobContext context, ReconstructJobOptions options)
    {
        using var precision = context.UsePrecision(training: false);
        var encoder = context.Components.Encoder;
        var decoder = context.Components.Decoder;
        var statistics = context.Components.Statistics;
        using var images = string.IsNullOrEmpty(options.Input)
            ? FromData(context, options.Limit)
            : ImageInputs.Read(context.ResolvePath(options.Input), encoder.InputSize, options.Limit).Images;
        // Under MPI each rank reconstructs a contiguous range of the batches; rank 0 gathers them in order, scores and writes.
        var group = context.ProcessGroup;
        var part = ShardPlan.For(ShardSelection.Whole.ForRank(group), (int)images.shape[0], options.BatchSize);
        var reconstructions = new List<Tensor>();
        using var bar = context.Progress.Start("reconstruct", part.ItemCount, "img");
        using (torch.no_grad())
            foreach (var (start, end) in part.BatchRanges())
            {
                using var scope = NewDisposeScope();
                var batch = images[start..end].to(context.Device);
                var z = encoder.Encode(batch);
                if (statistics != null) z = statistics.Denormalize(statistics.Normalize(z));
                var decoded = decoder.Decode(z).cpu().clamp(0, 1);
                if (decoded.shape[2] != images.shape[2])
                    decoded = nn.functional.interpolate(decoded, [images.shape[2], images.shape[3]], mode: InterpolationMode.Bicubic).clamp(0, 1);
                reconstructions.Add(decoded.to(float32).MoveToOuterDisposeScope());
                bar.Advance(end - start);
            }
        using var mine = reconstructions.Count > 0 ? torch.cat(reconstructions, 0) : torch.empty([0, .. images.shape[1..]]);
        reconstructions.ForEach(t => t.Dispose());
        using var reconstructed = group.Gather(mine);
        if (reconstructed is null) return;
        double psnr = Psnr.Mean(reconstructed, images);
        double ssim = Ssim.Mean(reconstructed, images);
        using var pairs = torch.stack([images, reconstructed], 1).flatten(0, 1);
        var output = context.RunPath(options.Output);
        ImageGrid.Save(output, pairs, columns: 8);
        // Both sets as ADM-style npz files, so `eval` gives the rFID (samples: reconstructions.npz, reference: originals.npz).
        var folder = Path.GetDirectoryName(output)!;
        using (var originalPixels = PixelConversion.ToUint8Hwc(images))
            NpzFile.Write(Path.Combine(folder, "originals.npz"), [new("arr_0", originalPixels)]);
        using (var reconstructedPixels = PixelConversion.ToUint8Hwc(reconstructed))
            NpzFile.Write(Path.Combine(folder, "reconstructions.npz"), [new("arr_0", reconstructedPixels)]);
        context.Results.Record("reconstruct/psnr", psnr);
        context.Results.Record("reconstruct/ssim", ssim);
        context.Logger("rae.reconstruct").LogInformation(
            "reconstructed {Count} images: PSNR {Psnr:F2} dB, SSIM {Ssim:F4}; grid {Output}; originals.npz and reconstructions.npz beside it for rFID (eval)",
            images.shape[0], psnr, ssim, output);
    }

    static Tensor FromData(JobContext context, int limit)
    {
        var dataset = Datasets.Open(context.Data, context.PipelineDirectory, context.Seed);
        using var scope = NewDisposeScope();
        var count = limit > 0 ? Math.Min(limit, dataset.Count) : dataset.Count;
        return torch.stack(Enumerable.Range(0, count).Select(i => dataset.Get(i).Image).ToList()).MoveToOuterDisposeScope();
    }
}
