using Microsoft.Extensions.Logging;
using RaePipeline.Distributed;
using RaePipeline.Pipeline;
using RaePipeline.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Autoencoding;

/// <summary>Options of the <c>encode</c> job.</summary>
public sealed class EncodeJobOptions : ShardedJobOptions
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
/// <c>encode</c>: images to latents (N, C, h, w) in a safetensors file, with the input names in its metadata. Each
/// batch's latents go to a chunk beside the output (<c>latents.chunks/batch-000012.npz</c>, see <see cref="ShardedBatches"/>)
/// as soon as they are computed, so a killed run resumes from its finished batches; the file is joined from the chunks
/// in batch order. Under MPI the ranks encode contiguous ranges of the batches and rank 0 writes the file; as a shard
/// of an array job (<c>--shard i/N</c>, Slurm array, Indexed Job) a process encodes its shard only, and
/// <c>--merge</c> writes the file once every shard is done, byte-identical to one run's.
/// </summary>
public sealed class EncodeJob : Job<EncodeJobOptions>
{
    public override string Name => "encode";
    public override string Description => "encode images (file, folder, safetensors, npz) to a latents safetensors file (shardable)";

    protected override IEnumerable<JobProblem> Validate(JobValidationContext context, EncodeJobOptions options)
    {
        foreach (var problem in context.Require(Name, PipelineRole.Encoder)) yield return problem;
        if (string.IsNullOrEmpty(options.Input)) yield return new JobProblem("input", "is required (--input <image | folder | .safetensors | .npz>)");
        if (!options.Output.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
            yield return new JobProblem("output", "must name a .safetensors file (--output latents.safetensors)");
        if (options.BatchSize < 1) yield return new JobProblem("batch_size", "must be at least 1");
        foreach (var (key, message) in options.ShardProblems()) yield return new JobProblem(key, message);
    }

    protected override void Run(JobContext context, EncodeJobOptions options)
    {
        using var precision = context.UsePrecision(training: false);
        var log = context.Logger("rae.encode");
        var encoder = context.Components.Encoder;
        var statistics = options.Normalized
            ? context.Components.Statistics ?? throw new InvalidOperationException(
                "encode: normalized latents need latent statistics (a 'statistics' file in the pipeline or a 'stats' job before)")
            : null;
        var input = context.ResolvePath(options.Input);
        var (images, names) = ImageInputs.Read(input, encoder.InputSize);
        using var _ = images;
        var output = context.ResolvePath(options.Output);
        var group = context.ProcessGroup;
        var selection = options.Merge ? ShardSelection.Whole : options.Selection();
        var work = new ShardedBatches(new ChunkStore(Path.ChangeExtension(output, ".chunks"), Fingerprint(context, options, input, images, names, statistics)),
            selection, group, (int)images.shape[0], options.BatchSize);
        if (!options.Merge)
        {
            log.LogInformation("encoding images {First}..{End} of {Count} ({Shard}{Ranks})", work.Mine.FirstItem, work.Mine.EndItem - 1, images.shape[0],
                selection, group.IsDistributed ? $", split over {group.WorldSize} ranks" : "");
            using var bar = context.Progress.Start("encode", work.Mine.ItemCount, "img");
            bar.SetDone(work.ReusedItems);
            work.Run((start, end) =>
            {
                var z = encoder.Encode(images[start..end].to(context.Device));
                if (statistics != null) z = statistics.Normalize(z);
                return [new("latents", z.cpu())];
            }, n => bar.Advance(n), log, context.Cancellation);
            if (!selection.IsWhole)
            {
                context.Results.Record("encode/images", work.Mine.ItemCount);
                log.LogInformation("{Shard} done: its latents are in {Folder}; run encode with --merge once every shard is done", selection, work.Store.Folder);
                return;
            }
        }
        if (!group.IsMain) return;
        work.RequireAll("run the shards that wrote them (the same command with --shard i/N), then --merge");
        using var all = work.Store.Joined(work.Batches, "latents");
        SafeTensorsFile.Write(output, [new("latents", all)], new Dictionary<string, string>
        {
            ["inputs"] = System.Text.Json.JsonSerializer.Serialize(names),
            ["encoder"] = context.Components.NameOf(PipelineRole.Encoder),
            ["normalized"] = options.Normalized ? "true" : "false",
        });
        work.Store.Delete(work.Batches);
        context.Results.Record("encode/images", all.shape[0]);
        log.LogInformation("wrote latents [{Shape}] to {Output}", string.Join(", ", all.shape), output);
    }

    /// <summary>What the latents depend on: the inputs (names and pixels), the encoder (name, shape, weights), the batching, the statistics and the precision.</summary>
    static string Fingerprint(JobContext context, EncodeJobOptions options, string input, Tensor images, IReadOnlyList<string> names,
        Latents.LatentStatistics? statistics)
    {
        var encoder = context.Components.Encoder;
        using var fingerprint = new RunFingerprint()
            .Add($"encode: input {input}, batch {options.BatchSize}, encoder {context.Components.NameOf(PipelineRole.Encoder)} {encoder.LatentShape} " +
                 $"at {encoder.InputSize} px, {encoder.ImageNormalization}, precision {context.Precision}")
            .Add(string.Join("\n", names)).AddSummary(images).AddComponent(encoder);
        statistics?.AddTo(fingerprint);
        return fingerprint.Finish();
    }
}
