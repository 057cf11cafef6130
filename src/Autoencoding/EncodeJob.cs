using Microsoft.Extensions.Logging;
using RaePipeline.Distributed;
using RaePipeline.Pipeline;
using RaePipeline.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Autoencoding;

/// <summary>Options of the <c>encode</c> job.</summary>
public sealed class EncodeJobOptions
{
    /// <summary>An image file, a folder of images, a safetensors file with <c>images</c>, or an npz with <c>arr_0</c>.</summary>
    public string Input { get; set; } = "";

    /// <summary>The safetensors file to write (tensor <c>latents</c>), relative to the pipeline file.</summary>
    public string Output { get; set; } = "";

    public int BatchSize { get; set; } = 16;

    /// <summary>Apply the pipeline's latent statistics (the diffusion model's input space); default: raw encoder latents.</summary>
    public bool Normalized { get; set; }
}

/// <summary>
/// <c>encode</c>: images to latents (N, C, h, w) in a safetensors file, with the input names in its metadata. Under
/// MPI the ranks encode contiguous ranges of the batches and rank 0 writes the gathered latents.
/// </summary>
public sealed class EncodeJob : Job<EncodeJobOptions>
{
    public override string Name => "encode";
    public override string Description => "encode images (file, folder, safetensors, npz) to a latents safetensors file";

    protected override IEnumerable<JobProblem> Validate(JobValidationContext context, EncodeJobOptions options)
    {
        foreach (var problem in context.Require(Name, PipelineRole.Encoder)) yield return problem;
        if (string.IsNullOrEmpty(options.Input)) yield return new JobProblem("input", "is required (--input <image | folder | .safetensors | .npz>)");
        if (!options.Output.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
            yield return new JobProblem("output", "must name a .safetensors file (--output latents.safetensors)");
    }

    protected override void Run(JobContext context, EncodeJobOptions options)
    {
        using var precision = context.UsePrecision(training: false);
        var encoder = context.Components.Encoder;
        var statistics = options.Normalized
            ? context.Components.Statistics ?? throw new InvalidOperationException(
                "encode: normalized latents need latent statistics (a 'statistics' file in the pipeline or a 'stats' job before)")
            : null;
        var (images, names) = ImageInputs.Read(context.ResolvePath(options.Input), encoder.InputSize);
        using var _ = images;
        // Under MPI each rank encodes a contiguous range of the batches; rank 0 gathers them in order and writes.
        var group = context.ProcessGroup;
        var part = ShardPlan.For(ShardSelection.Whole.ForRank(group), (int)images.shape[0], options.BatchSize);
        var latents = new List<Tensor>();
        using var bar = context.Progress.Start("encode", part.ItemCount, "img");
        using (torch.no_grad())
            foreach (var (start, end) in part.BatchRanges())
            {
                using var scope = NewDisposeScope();
                var batch = images[start..end].to(context.Device);
                var z = encoder.Encode(batch);
                if (statistics != null) z = statistics.Normalize(z);
                latents.Add(z.cpu().MoveToOuterDisposeScope());
                bar.Advance(batch.shape[0]);
            }
        using var mine = latents.Count > 0 ? torch.cat(latents, 0) : torch.empty(encoder.LatentShape.WithBatch(0));
        latents.ForEach(t => t.Dispose());
        using var all = group.Gather(mine);
        if (all is null) return;
        var output = context.ResolvePath(options.Output);
        SafeTensorsFile.Write(output, [new("latents", all)], new Dictionary<string, string>
        {
            ["inputs"] = System.Text.Json.JsonSerializer.Serialize(names),
            ["encoder"] = context.Components.NameOf(PipelineRole.Encoder),
            ["normalized"] = options.Normalized ? "true" : "false",
        });
        context.Results.Record("encode/images", all.shape[0]);
        context.Logger("rae.encode").LogInformation("wrote latents [{Shape}] to {Output}", string.Join(", ", all.shape), output);
    }
}
