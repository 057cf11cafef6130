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

    public static void Write(string path, IEnumerable<KeyValuePair<string, Tensor>> arrays)
    {
        AtomicFile.Write(path, stream =>
        {
            using var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true);
            foreach (var (name, tensor) in arrays)
            {
                var entry = zip.CreateEntry(name + ".npy", CompressionLevel.NoCompression);
                entry.LastWriteTime = FixedTimestamp;
                using var entryStream = entry.Open();
                using var cpu = tensor.detach().cpu().contiguous();
                NpyHeader.Write(entryStream, cpu, name);
                TensorBytes.Write(entryStream, cpu);
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
