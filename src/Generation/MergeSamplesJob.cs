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
/// cover every image exactly once; the result equals the npz of one unsharded run byte for byte. The images stream
/// from the shards into the output a block at a time, so shards larger than memory merge.
/// </summary>
public sealed class MergeSamplesJob : Job<MergeSamplesJobOptions>
{
    public override string Name => "merge-samples";
    public override string Description => "join sharded sample npz files into one (byte-identical to an unsharded run)";

    protected override void Run(JobContext context, MergeSamplesJobOptions options) =>
        Merge(context, Path.Combine(context.RunDirectory, options.Folder), options.Inputs.Select(context.ResolvePath).ToList(), options.Output);

    /// <summary>Joins <paramref name="inputs"/> (none: every shard npz in <paramref name="folder"/>) into <paramref name="output"/> in that folder.</summary>
    public static void Merge(JobContext context, string folder, IReadOnlyList<string> given, string outputName)
    {
        var inputs = given.Count > 0
            ? given.ToList()
            : Directory.Exists(folder) ? Directory.GetFiles(folder, "samples.shard-*-of-*.npz").ToList() : [];
        if (inputs.Count == 0)
            throw new FileNotFoundException($"merge-samples: no shard files given and none found in {folder}");
        using var scope = NewDisposeScope();
        // Only the image numbers and labels are read whole; the images stream from the shards into the output.
        var shards = inputs.Select(path =>
        {
            using var archive = NpzArchive.Open(path);
            foreach (var key in new[] { "arr_0", "arr_1", "index" })
                if (!archive.Contains(key))
                    throw new WeightsFormatException($"{path}: not a sample shard (no '{key}' array)", path);
            var images = archive.Header("arr_0");
            if (images.Shape.Length != 4 || images.DType != ScalarType.Byte)
                throw new WeightsFormatException($"{path}: arr_0 is {images.Descr} [{string.Join(", ", images.Shape)}], expected N x H x W x 3 uint8", path);
            var index = archive.Read("index").to(int64).data<long>().ToArray();
            return (Path: path, Images: images, Index: index, Labels: archive.Read("arr_1"));
        }).OrderBy(s => s.Index.Length == 0 ? long.MaxValue : s.Index[0]).ToList();
        var order = shards.SelectMany(s => s.Index).ToArray();
        long count = order.Length;
        if (!order.Select((image, position) => image == position).All(x => x))
            throw new InvalidDataException(
                $"merge-samples: the shards do not cover images 0..{count - 1} exactly once ({string.Join(", ", inputs.Select(Path.GetFileName))})");
        var shape = shards[0].Images.Shape;
        var odd = shards.FirstOrDefault(s => !s.Images.Shape.AsSpan(1).SequenceEqual(shape.AsSpan(1)));
        if (odd.Path != null)
            throw new InvalidDataException($"merge-samples: {odd.Path} holds images of [{string.Join(", ", odd.Images.Shape.Skip(1))}], {shards[0].Path} of [{string.Join(", ", shape.Skip(1))}]");

        IEnumerable<Tensor> Rows(string array)
        {
            const int step = 256;
            foreach (var shard in shards)
            {
                using var archive = NpzArchive.Open(shard.Path);
                using var rows = archive.OpenRows(array);
                while (rows.Remaining > 0)
                {
                    using var block = rows.Read(Math.Min(step, rows.Remaining));
                    yield return block;
                }
            }
        }
        var labels = torch.cat(shards.Select(s => s.Labels).ToList(), 0);
        var allIndex = torch.arange(count, dtype: int64);
        var output = Path.Combine(folder, outputName);
        NpzFile.WriteRows(output,
        [
            new NpzArrayRows("arr_0", ScalarType.Byte, [count, .. shape.Skip(1)], () => Rows("arr_0")),
            new NpzArrayRows("arr_1", labels.dtype, [count], () => [labels]),
            new NpzArrayRows("index", ScalarType.Int64, [count], () => [allIndex]),
        ]);
        context.Results.Record("merge-samples/images", count);
        context.Logger("rae.merge").LogInformation("merged {Shards} shards, {Count} images, into {Output}", shards.Count, count, output);
    }
}
