using static TorchSharp.torch;

namespace RaePipeline.Weights;

/// <summary>
/// A numpy <c>.npz</c> archive opened for reading array by array: the names, each array's header without its data,
/// a whole array, or rows along the first axis streamed in chunks (as the ADM evaluator's
/// <c>StreamingNpzArrayReader</c> does), so a 50k-image sample file never sits in memory whole. Stored
/// (<c>np.savez</c>) and deflated (<c>np.savez_compressed</c>) entries are read alike. Every refusal is a
/// <see cref="WeightsFormatException"/> naming the file and the array.
/// </summary>
public sealed class NpzArchive : IDisposable
{
    const string Extension = ".npy";
    readonly ZipContainer zip;

    NpzArchive(ZipContainer zip)
    {
        this.zip = zip;
        Names = zip.Names.Where(n => n.EndsWith(Extension, StringComparison.Ordinal)).Select(n => n[..^Extension.Length]).ToList();
    }

    public string Path => zip.Path;

    /// <summary>Array names (entry names without <c>.npy</c>), in archive order.</summary>
    public IReadOnlyList<string> Names { get; }

    public static NpzArchive Open(string path) => new(ZipContainer.Open(path, "npz archive"));

    public bool Contains(string name) => zip.Contains(name + Extension);

    /// <summary>The array's dtype and shape, read without its data.</summary>
    public NpyHeader Header(string name)
    {
        using var rows = OpenRows(name);
        return rows.Header;
    }

    /// <summary>The whole array (a Fortran-ordered array comes back in C order, as numpy shows it).</summary>
    public Tensor Read(string name)
    {
        using var rows = OpenRows(name, allowFortranOrder: true);
        var header = rows.Header;
        if (!header.FortranOrder) return rows.Read(header.Rows);
        using var reversed = TensorBytes.Read(rows.Stream, header.Shape.Reverse().ToArray(), header.DType, rows.Where, Path);
        var axes = Enumerable.Range(0, header.Shape.Length).Reverse().Select(i => (long)i).ToArray();
        return reversed.permute(axes).contiguous();
    }

    /// <summary>Rows [<paramref name="start"/>, start + count) along the first axis, without reading the others' data into memory.</summary>
    public Tensor ReadRows(string name, long start, long count)
    {
        using var rows = OpenRows(name);
        rows.Skip(start);
        return rows.Read(count);
    }

    /// <summary>A forward-only reader of the array's rows (C order only).</summary>
    public NpyRowReader OpenRows(string name) => OpenRows(name, allowFortranOrder: false);

    NpyRowReader OpenRows(string name, bool allowFortranOrder)
    {
        var entry = name + Extension;
        if (!zip.Contains(entry))
            throw new WeightsFormatException(
                $"{Path}: no array '{name}' (the archive holds {(Names.Count == 0 ? "no arrays" : string.Join(", ", Names.Select(n => $"'{n}'")))})", Path);
        long length = zip.Length(entry);
        var stream = zip.OpenEntry(entry);
        try
        {
            var where = $"array '{name}'";
            var header = NpyHeader.Read(stream, length, where, Path);
            if (header.FortranOrder && !allowFortranOrder)
                throw new WeightsFormatException(
                    $"{Path}: {where} is stored in Fortran (column-major) order, so its rows cannot be read one by one; save it with np.ascontiguousarray", Path);
            return new NpyRowReader(stream, header, where, Path);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    public void Dispose() => zip.Dispose();
}
