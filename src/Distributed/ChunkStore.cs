using System.Text;
using RaePipeline.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Distributed;

/// <summary>
/// The partial results of a sharded job on disk: one npz per piece in a folder shared by the shards and ranks
/// (<c>batch-000012.npz</c> for a batch of items, or a named piece such as a shard's running sums), each written
/// atomically with the run's fingerprint (array <c>run</c>) and, for a batch, the item range it holds (<c>rows</c> =
/// [start, end) int64). A killed shard resumes from the pieces it finished; a piece written with other settings (another
/// fingerprint) is refused with a <see cref="ChunkMismatchException"/> naming the folder, never mixed into a result;
/// a damaged piece counts as missing and is computed again.
/// </summary>
public sealed class ChunkStore(string folder, string fingerprint)
{
    const string FingerprintArray = "run", RowsArray = "rows";

    public string Folder => folder;

    public static string BatchName(int batch) => $"batch-{batch:D6}";

    public string PathOf(string name) => Path.Combine(folder, name + ".npz");

    public string PathOf(int batch) => PathOf(BatchName(batch));

    /// <summary>Writes piece <paramref name="name"/> (replacing it) with <paramref name="arrays"/> and the fingerprint.</summary>
    public void Write(string name, IEnumerable<KeyValuePair<string, Tensor>> arrays)
    {
        using var run = torch.tensor(Encoding.ASCII.GetBytes(fingerprint), ScalarType.Byte);
        NpzFile.Write(PathOf(name), [.. arrays, new(FingerprintArray, run)]);
    }

    /// <summary>Writes batch <paramref name="batch"/>, items [start, end): <paramref name="arrays"/> hold their rows.</summary>
    public void WriteBatch(int batch, int start, int end, IEnumerable<KeyValuePair<string, Tensor>> arrays)
    {
        using var rows = torch.tensor(new long[] { start, end });
        Write(BatchName(batch), [.. arrays, new(RowsArray, rows)]);
    }

    /// <summary>
    /// Piece <paramref name="name"/> opened for reading when this run wrote it; null when it is missing or damaged.
    /// Throws <see cref="ChunkMismatchException"/> when it holds another run's fingerprint.
    /// </summary>
    public NpzArchive? Open(string name)
    {
        var path = PathOf(name);
        if (!File.Exists(path)) return null;
        NpzArchive? archive = null;
        string stored;
        try
        {
            archive = NpzArchive.Open(path);
            if (!archive.Contains(FingerprintArray))
            {
                archive.Dispose();
                return null;
            }
            using var run = archive.Read(FingerprintArray);
            stored = run.dtype == ScalarType.Byte ? Encoding.ASCII.GetString(run.data<byte>().ToArray()) : "";
        }
        catch (Exception e) when (e is WeightsFormatException or IOException or InvalidDataException)
        {
            archive?.Dispose();
            return null;
        }
        if (stored == fingerprint) return archive;
        archive.Dispose();
        throw new ChunkMismatchException(
            $"{folder} holds partial results of a run with other settings ({Path.GetFileName(path)}: fingerprint {stored}, this run {fingerprint}: " +
            "other weights, inputs, seed, batch size or options); they are not mixed into this result. Run with the settings that wrote them, " +
            "or remove the folder to start over", folder);
    }

    /// <summary>
    /// Whether batch <paramref name="batch"/> (items [start, end)) is on disk as this run writes it, and passes
    /// <paramref name="check"/> (for example the shape of an array); throws when it is another run's.
    /// </summary>
    public bool IsFinished(int batch, int start, int end, Func<NpzArchive, bool>? check = null)
    {
        using var archive = Open(BatchName(batch));
        if (archive is null) return false;
        try
        {
            if (!archive.Contains(RowsArray)) return false;
            using var rows = archive.Read(RowsArray);
            return rows.dtype == ScalarType.Int64 && rows.numel() == 2 && rows[0].item<long>() == start && rows[1].item<long>() == end
                   && (check?.Invoke(archive) ?? true);
        }
        catch (Exception e) when (e is WeightsFormatException or IOException or InvalidDataException)
        {
            return false;
        }
    }

    /// <summary>Throws unless every batch of <paramref name="plan"/> is finished; the message names the folder and the missing batches.</summary>
    public void RequireFinished(ShardPlan plan, string hint)
    {
        var missing = plan.BatchRanges().Select(r => (Batch: r.Start / plan.BatchSize, r.Start, r.End))
            .Where(b => !IsFinished(b.Batch, b.Start, b.End)).Select(b => b.Batch).ToList();
        if (missing.Count > 0)
            throw new InvalidDataException(
                $"{folder}: {missing.Count} of the {plan.EndBatch - plan.FirstBatch} batches are missing " +
                $"({string.Join(", ", missing.Take(8).Select(BatchName))}{(missing.Count > 8 ? ", ..." : "")}); {hint}");
    }

    /// <summary>Whether batch <paramref name="batch"/>'s chunk holds <paramref name="array"/>.</summary>
    public bool Contains(int batch, string array)
    {
        using var archive = NpzArchive.Open(PathOf(batch));
        return archive.Contains(array);
    }

    /// <summary>Array <paramref name="array"/> of each of <paramref name="batches"/> in order, one chunk in memory at a time (each tensor lives until the next is read).</summary>
    public IEnumerable<Tensor> Rows(IEnumerable<int> batches, string array)
    {
        foreach (var batch in batches)
        {
            using var archive = NpzArchive.Open(PathOf(batch));
            using var rows = archive.Read(array);
            yield return rows;
        }
    }

    /// <summary>Array <paramref name="array"/> of <paramref name="batches"/> joined along the first axis.</summary>
    public Tensor Joined(IEnumerable<int> batches, string array)
    {
        using var scope = NewDisposeScope();
        var parts = new List<Tensor>();
        foreach (var batch in batches)
        {
            using var archive = NpzArchive.Open(PathOf(batch));
            parts.Add(archive.Read(array));
        }
        return torch.cat(parts, 0).MoveToOuterDisposeScope();
    }

    /// <summary>Removes the pieces <paramref name="names"/> (and what killed writes of them left), and the folder when nothing else is left in it.</summary>
    public void Delete(IEnumerable<string> names)
    {
        foreach (var name in names)
        {
            var path = PathOf(name);
            File.Delete(path);
            foreach (var partial in Directory.Exists(folder) ? Directory.GetFiles(folder, Path.GetFileName(path) + ".tmp-*") : [])
                File.Delete(partial);
        }
        try
        {
            if (Directory.Exists(folder) && !Directory.EnumerateFileSystemEntries(folder).Any()) Directory.Delete(folder);
        }
        catch (IOException)
        {
            // another shard wrote a chunk into the folder meanwhile: it stays
        }
    }

    /// <summary>Removes the chunks of <paramref name="batches"/>, as <see cref="Delete(IEnumerable{string})"/>.</summary>
    public void Delete(IEnumerable<int> batches) => Delete(batches.Select(BatchName));
}
