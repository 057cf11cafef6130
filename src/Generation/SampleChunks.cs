using System.Text;
using RaePipeline.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Generation;

/// <summary>
/// The sampled batches of a <c>sample</c> run on disk, one npz per batch in <c>&lt;output&gt;/chunks/</c>
/// (<c>batch-000012.npz</c>: <c>arr_0</c> (n, H, W, 3) uint8, <c>arr_1</c> labels (n,), <c>index</c> image numbers
/// (n,), <c>run</c> the run's fingerprint), each written atomically as soon as its batch is done. Images therefore
/// never accumulate in memory, a killed run resumes from the batches it finished (a chunk counts as finished when its
/// fingerprint, image numbers, labels and image shape are the ones this run would write), and the result is the
/// chunks streamed into one ADM npz (<see cref="WriteNpz"/>).
/// </summary>
public sealed class SampleChunks(string folder, string fingerprint, int imageSize)
{
    const string FingerprintArray = "run";

    public string Folder => folder;

    public string PathOf(int batch) => Path.Combine(folder, $"batch-{batch:D6}.npz");

    /// <summary>Writes batch <paramref name="batch"/>'s images (n, H, W, 3) uint8 and labels (n,) int64 of images [start, start + n).</summary>
    public void Write(int batch, int start, Tensor pixels, Tensor labels)
    {
        using var index = torch.arange(start, start + pixels.shape[0], dtype: int64);
        using var run = torch.tensor(Encoding.ASCII.GetBytes(fingerprint), ScalarType.Byte);
        NpzFile.Write(PathOf(batch), [new("arr_0", pixels), new("arr_1", labels), new("index", index), new(FingerprintArray, run)]);
    }

    /// <summary>
    /// Whether batch <paramref name="batch"/> (images [start, end) with <paramref name="labels"/>) is on disk as this
    /// run writes it; reads the small arrays and only the header of the images.
    /// </summary>
    public bool IsFinished(int batch, int start, int end, Tensor labels)
    {
        var path = PathOf(batch);
        if (!File.Exists(path)) return false;
        using var scope = NewDisposeScope();
        try
        {
            using var archive = NpzArchive.Open(path);
            if (!archive.Contains(FingerprintArray) || !archive.Contains("arr_0") || !archive.Contains("arr_1") || !archive.Contains("index"))
                return false;
            using var run = archive.Read(FingerprintArray);
            if (run.dtype != ScalarType.Byte || Encoding.ASCII.GetString(run.data<byte>().ToArray()) != fingerprint) return false;
            var header = archive.Header("arr_0");
            if (header.DType != ScalarType.Byte || !header.Shape.SequenceEqual([end - start, imageSize, imageSize, 3])) return false;
            using var storedLabels = archive.Read("arr_1");
            using var index = archive.Read("index");
            using var expectedIndex = torch.arange(start, end, dtype: int64);
            return storedLabels.dtype == ScalarType.Int64 && storedLabels.shape.SequenceEqual(labels.shape) && storedLabels.equal(labels).all().item<bool>()
                   && index.dtype == ScalarType.Int64 && index.shape.SequenceEqual(expectedIndex.shape) && index.equal(expectedIndex).all().item<bool>();
        }
        catch (Exception e) when (e is WeightsFormatException or IOException or InvalidDataException)
        {
            return false; // a damaged chunk is computed again
        }
    }

    /// <summary>
    /// Streams the chunks of <paramref name="batches"/> (images [first, end) in order, with <paramref name="labels"/>)
    /// into the ADM npz at <paramref name="path"/>: <c>arr_0</c>, <c>arr_1</c>, <c>index</c>, one chunk in memory at a
    /// time; byte-identical to writing the whole arrays at once.
    /// </summary>
    public void WriteNpz(string path, IReadOnlyList<int> batches, int first, int end, Tensor labels)
    {
        long count = end - first;
        IEnumerable<Tensor> Rows(string array)
        {
            foreach (var batch in batches)
            {
                using var archive = NpzArchive.Open(PathOf(batch));
                using var rows = archive.Read(array);
                yield return rows;
            }
        }
        using var index = torch.arange(first, end, dtype: int64);
        NpzFile.WriteRows(path,
        [
            new NpzArrayRows("arr_0", ScalarType.Byte, [count, imageSize, imageSize, 3], () => Rows("arr_0")),
            new NpzArrayRows("arr_1", ScalarType.Int64, [count], () => [labels]),
            new NpzArrayRows("index", ScalarType.Int64, [count], () => [index]),
        ]);
    }

    /// <summary>Removes the chunks of <paramref name="batches"/> (and what killed writes of them left), and the folder when nothing else is left in it.</summary>
    public void Delete(IEnumerable<int> batches)
    {
        foreach (var batch in batches)
        {
            var path = PathOf(batch);
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
}
