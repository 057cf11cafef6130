using Microsoft.Extensions.Logging;
using RaePipeline.Pipeline;
using RaePipeline.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Generation;

/// <summary>Options of the <c>merge-samples</c> job.</summary>
public sealed class MergeSamplesJobOptions
{
    /// <summary>The shards' npz files (relative to the pipeline file); empty = every samples.shard-*-of-*.npz in the run's sample folder.</summary>
    public string[] Inputs { get; set; } = [];

    /// <summary>The sample folder of the run (as the sample job's <c>output</c>).</summary>
    public string Folder { get; set; } = "samples";

    /// <summary>The merged file, in the sample folder.</summary>
    public string Output { get; set; } = "samples.npz";
}

/// <summary>
/// <c>merge-samples</c>: joins the npz files of <c>sample --shard i/N</c> runs in image order, checking that they
/// cover every image exactly once; the result equals the npz of one unsharded run byte for byte.
/// </summary>
public sealed class MergeSamplesJob : Job<MergeSamplesJobOptions>
{
    public override string Name => "merge-samples";
    public override string Description => "join sharded sample npz files into one (byte-identical to an unsharded run)";

    protected override void Run(JobContext context, MergeSamplesJobOptions options)
    {
        var folder = Path.Combine(context.RunDirectory, options.Folder);
        var inputs = options.Inputs.Length > 0
            ? options.Inputs.Select(context.ResolvePath).ToList()
            : Directory.Exists(folder) ? Directory.GetFiles(folder, "samples.shard-*-of-*.npz").ToList() : [];
        if (inputs.Count == 0)
            throw new FileNotFoundException($"merge-samples: no shard files given and none found in {folder}");
        var shards = inputs.Select(path => (Path: path, Arrays: NpzFile.Read(path))).ToList();
        try
        {
            foreach (var (path, arrays) in shards)
                foreach (var key in new[] { "arr_0", "arr_1", "index" })
                    if (!arrays.ContainsKey(key))
                        throw new WeightsFormatException($"{path}: not a sample shard (no '{key}' array)", path);
            var ordered = shards.OrderBy(s => s.Arrays["index"].numel() == 0 ? long.MaxValue : s.Arrays["index"][0].item<long>()).ToList();
            using var scope = NewDisposeScope();
            var index = torch.cat(ordered.Select(s => s.Arrays["index"]).ToList(), 0);
            long count = index.shape[0];
            if (!index.equal(torch.arange(count, dtype: int64)).all().item<bool>())
                throw new InvalidDataException(
                    $"merge-samples: the shards do not cover images 0..{count - 1} exactly once ({string.Join(", ", inputs.Select(Path.GetFileName))})");
            var images = torch.cat(ordered.Select(s => s.Arrays["arr_0"]).ToList(), 0);
            var labels = torch.cat(ordered.Select(s => s.Arrays["arr_1"]).ToList(), 0);
            var output = Path.Combine(folder, options.Output);
            NpzFile.Write(output, [new("arr_0", images), new("arr_1", labels), new("index", index)]);
            context.Results.Record("merge-samples/images", count);
            context.Logger("rae.merge").LogInformation("merged {Shards} shards, {Count} images, into {Output}", shards.Count, count, output);
        }
        finally
        {
            foreach (var (_, arrays) in shards)
                foreach (var tensor in arrays.Values) tensor.Dispose();
        }
    }
}
