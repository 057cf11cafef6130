using System.IO.Compression;
using static TorchSharp.torch;

namespace RaePipeline.Weights;

/// <summary>
/// numpy <c>.npz</c> archives (a zip of <c>.npy</c> files, stored uncompressed like <c>np.savez</c>), as the ADM
/// evaluator reads them (<c>arr_0</c> images N x H x W x 3 uint8; <c>mu</c>/<c>sigma</c> statistics). Entries are
/// written in the given order with a fixed timestamp, so equal arrays give byte-identical files. Reading array by
/// array, or rows in chunks, is <see cref="NpzArchive"/>.
/// </summary>
public static class NpzFile
{
    static readonly DateTimeOffset FixedTimestamp = new(1980, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static void Write(string path, IEnumerable<KeyValuePair<string, Tensor>> arrays) =>
        WriteRows(path, arrays.Select(a => new NpzArrayRows(a.Key, a.Value.dtype, a.Value.shape, () => [a.Value])));

    /// <summary>
    /// Writes arrays whose rows arrive in blocks (for example one block per sampled batch), so an array larger than
    /// memory is written holding one block at a time; the file equals <see cref="Write(string, IEnumerable{KeyValuePair{string, Tensor}})"/>
    /// of the whole arrays byte for byte. Blocks must add up to the declared shape, else nothing is written.
    /// </summary>
    public static void WriteRows(string path, IEnumerable<NpzArrayRows> arrays)
    {
        AtomicFile.Write(path, stream =>
        {
            using var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true);
            foreach (var array in arrays)
            {
                var entry = zip.CreateEntry(array.Name + ".npy", CompressionLevel.NoCompression);
                entry.LastWriteTime = FixedTimestamp;
                using var entryStream = entry.Open();
                NpyHeader.Write(entryStream, array.DType, array.Shape, array.Name);
                long rows = 0;
                foreach (var block in array.Blocks())
                {
                    using var cpu = block.detach().cpu().contiguous();
                    var expected = array.Shape.Length == 0 ? [] : array.Shape.Skip(1).Prepend(cpu.dim() == 0 ? 0 : cpu.shape[0]).ToArray();
                    if (cpu.dtype != array.DType || !cpu.shape.SequenceEqual(expected))
                        throw new ArgumentException(
                            $"{path}: a block of array '{array.Name}' is {cpu.dtype} {TensorBytes.Format(cpu.shape)}, expected {array.DType} rows of {TensorBytes.Format(array.Shape)}");
                    rows += array.Shape.Length == 0 ? 1 : cpu.shape[0];
                    TensorBytes.Write(entryStream, cpu);
                }
                long declared = array.Shape.Length == 0 ? 1 : array.Shape[0];
                if (rows != declared)
                    throw new ArgumentException($"{path}: array '{array.Name}' declares {declared} rows, its blocks hold {rows}");
            }
        });
    }

    /// <summary>Every array of the archive, whole.</summary>
    public static Dictionary<string, Tensor> Read(string path)
    {
        using var archive = NpzArchive.Open(path);
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var name in archive.Names) result[name] = archive.Read(name);
            return result;
        }
        catch
        {
            foreach (var tensor in result.Values) tensor.Dispose();
            throw;
        }
    }
}

/// <summary>An array to write into an npz: its name, dtype and whole shape, and its rows along the first axis in blocks, produced on demand.</summary>
public sealed record NpzArrayRows(string Name, ScalarType DType, long[] Shape, Func<IEnumerable<Tensor>> Blocks);
