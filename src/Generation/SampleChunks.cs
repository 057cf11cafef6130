using RaePipeline.Distributed;
using RaePipeline.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Generation;

/// <summary>
/// The sampled batches of a <c>sample</c> run on disk, one npz per batch in <c>&lt;output&gt;/chunks/</c>
/// (a <see cref="ChunkStore"/>: <c>batch-000012.npz</c> with <c>arr_0</c> (n, H, W, 3) uint8, <c>arr_1</c> labels
/// (n,), the image range and the run's fingerprint), each written atomically as soon as its batch is done. Images
/// therefore never accumulate in memory, a killed run resumes from the batches it finished (a chunk counts as
/// finished when its fingerprint, image range and image shape are the ones this run would write; chunks of a run with
/// other settings are refused), and the result is the chunks streamed into one ADM npz (<see cref="WriteNpz"/>).
/// </summary>
public sealed class SampleChunks(string folder, string fingerprint, int imageSize)
{
    readonly ChunkStore store = new(folder, fingerprint);

    public string Folder => folder;

    public string PathOf(int batch) => store.PathOf(batch);

    /// <summary>Writes batch <paramref name="batch"/>'s images (n, H, W, 3) uint8 and labels (n,) int64 of images [start, start + n).</summary>
    public void Write(int batch, int start, Tensor pixels, Tensor labels) =>
        store.WriteBatch(batch, start, start + (int)pixels.shape[0], [new("arr_0", pixels), new("arr_1", labels)]);

    /// <summary>
    /// Whether batch <paramref name="batch"/> (images [start, end)) is on disk as this run writes it; reads the small
    /// arrays and only the header of the images. Throws <see cref="ChunkMismatchException"/> for another run's chunk.
    /// </summary>
    public bool IsFinished(int batch, int start, int end) =>
        store.IsFinished(batch, start, end, archive =>
            archive.Contains("arr_1") && archive.Header("arr_0") is var header && header.DType == ScalarType.Byte
            && header.Shape.SequenceEqual([end - start, imageSize, imageSize, 3]));

    /// <summary>
    /// Streams the chunks of <paramref name="batches"/> (images [first, end) in order, with <paramref name="labels"/>)
    /// into the ADM npz at <paramref name="path"/>: <c>arr_0</c>, <c>arr_1</c>, <c>index</c>, one chunk in memory at a
    /// time; byte-identical to writing the whole arrays at once.
    /// </summary>
    public void WriteNpz(string path, IReadOnlyList<int> batches, int first, int end, Tensor labels)
    {
        long count = end - first;
        using var index = torch.arange(first, end, dtype: int64);
        NpzFile.WriteRows(path,
        [
            new NpzArrayRows("arr_0", ScalarType.Byte, [count, imageSize, imageSize, 3], () => store.Rows(batches, "arr_0")),
            new NpzArrayRows("arr_1", ScalarType.Int64, [count], () => [labels]),
            new NpzArrayRows("index", ScalarType.Int64, [count], () => [index]),
        ]);
    }

    /// <summary>Removes the chunks of <paramref name="batches"/> (and what killed writes of them left), and the folder when nothing else is left in it.</summary>
    public void Delete(IEnumerable<int> batches) => store.Delete(batches);
}
