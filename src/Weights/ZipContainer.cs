using System.IO.Compression;

namespace RaePipeline.Weights;

/// <summary>
/// A zip archive read by the npz and PyTorch readers: the archive's own complaints become refusals naming the file,
/// entry names are unique, and an entry's declared size is believed only as far as its compressed bytes can hold it
/// (deflate expands at most 1032-fold), so no reader allocates for data the file cannot contain.
/// </summary>
sealed class ZipContainer : IDisposable
{
    const long MaximumDeflateRatio = 1032;
    readonly FileStream file;
    readonly ZipArchive archive;
    readonly Dictionary<string, ZipArchiveEntry> byName;

    ZipContainer(string path, FileStream file, ZipArchive archive, Dictionary<string, ZipArchiveEntry> byName)
    {
        Path = path;
        this.file = file;
        this.archive = archive;
        this.byName = byName;
    }

    public string Path { get; }

    /// <summary>Entry names in archive order.</summary>
    public IReadOnlyList<string> Names => archive.Entries.Select(e => e.FullName).ToList();

    /// <param name="kind">What the file should be, for the refusal of a file that is no zip archive.</param>
    public static ZipContainer Open(string path, string kind)
    {
        if (!File.Exists(path)) throw new WeightsFormatException($"{kind} not found: {path}", path);
        var file = File.OpenRead(path);
        try
        {
            var archive = new ZipArchive(file, ZipArchiveMode.Read, leaveOpen: true);
            var byName = new Dictionary<string, ZipArchiveEntry>(StringComparer.Ordinal);
            foreach (var entry in archive.Entries)
                if (!byName.TryAdd(entry.FullName, entry))
                {
                    archive.Dispose();
                    throw new WeightsFormatException($"{path}: the zip archive holds entry '{entry.FullName}' twice", path);
                }
            return new ZipContainer(path, file, archive, byName);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or NotSupportedException or ArgumentException)
        {
            file.Dispose();
            throw new WeightsFormatException($"{path}: not a readable zip archive, so not a {kind} ({e.Message})", path, e);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    public bool Contains(string name) => byName.ContainsKey(name);

    /// <summary>
    /// The entry's uncompressed length, refused when the entry's compressed bytes lie outside the file or could not
    /// expand to it.
    /// </summary>
    public long Length(string name)
    {
        var entry = Entry(name);
        long compressed = entry.CompressedLength, length = entry.Length;
        if (compressed < 0 || compressed > file.Length || length < 0)
            throw new WeightsFormatException(
                $"{Path}: zip entry '{name}' claims {compressed} compressed bytes in a file of {file.Length}", Path);
        if (length > compressed && (length - 64) / MaximumDeflateRatio > compressed)
            throw new WeightsFormatException(
                $"{Path}: zip entry '{name}' claims {length} bytes, more than its {compressed} compressed bytes can hold", Path);
        return length;
    }

    /// <summary>The entry's uncompressed bytes as a stream; the caller reads at most <see cref="Length"/> of them.</summary>
    public Stream OpenEntry(string name)
    {
        var entry = Entry(name);
        try
        {
            return entry.Open();
        }
        catch (Exception e) when (e is InvalidDataException or IOException or NotSupportedException)
        {
            throw new WeightsFormatException($"{Path}: zip entry '{name}' cannot be opened: {e.Message}", Path, e);
        }
    }

    /// <summary>The whole (small) entry, for metadata records such as a pickle.</summary>
    public byte[] ReadAll(string name)
    {
        long length = Length(name);
        if (length > int.MaxValue)
            throw new WeightsFormatException($"{Path}: zip entry '{name}' of {length} bytes is too large for a record", Path);
        var bytes = new byte[length];
        using var stream = OpenEntry(name);
        TensorBytes.ReadExactly(stream, bytes, $"zip entry '{name}'", Path);
        return bytes;
    }

    ZipArchiveEntry Entry(string name) =>
        byName.TryGetValue(name, out var entry)
            ? entry
            : throw new WeightsFormatException($"{Path}: the zip archive has no entry '{name}'", Path);

    public void Dispose()
    {
        archive.Dispose();
        file.Dispose();
    }
}
