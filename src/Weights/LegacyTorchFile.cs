using System.Buffers.Binary;
using System.Numerics;

namespace RaePipeline.Weights;

/// <summary>
/// The <c>torch.save</c> layout before PyTorch 1.6 (and with <c>_use_new_zipfile_serialization=False</c>), still
/// how many released <c>.pth</c>/<c>pytorch_model.bin</c> files are stored: five pickles in a row (the magic number,
/// the protocol version 1001, system info, the object, the sorted storage keys), then each storage as an 8-byte
/// little-endian element count followed by its bytes.
/// </summary>
static class LegacyTorchFile
{
    static readonly BigInteger MagicNumber = BigInteger.Parse("119547037146038801333356");
    const long ProtocolVersion = 1001;

    /// <summary>The unpickled object and where each storage's bytes are, or null when the file is no legacy torch.save file.</summary>
    public static (object? Root, TorchStorageRecords Records)? TryRead(string path)
    {
        long fileLength = new FileInfo(path).Length;
        // the pickles come first and are small; read more of the file only when they run past what was read
        for (long bufferLength = Math.Min(fileLength, 1 << 20); ; bufferLength = Math.Min(fileLength, bufferLength * 4))
        {
            var buffer = new byte[bufferLength];
            using (var stream = File.OpenRead(path)) stream.ReadExactly(buffer);
            try
            {
                return Parse(buffer, bufferLength < fileLength, path, fileLength);
            }
            catch (TorchPickle.NeedMoreBytes) when (bufferLength < fileLength)
            {
            }
        }
    }

    static (object? Root, TorchStorageRecords Records)? Parse(byte[] buffer, bool continues, string path, long fileLength)
    {
        var (magic, end, _) = TorchPickle.LoadAt(buffer, 0, continues, path, "the first pickle");
        if (!(magic is long m ? m == MagicNumber : magic is BigInteger b && b == MagicNumber)) return null;
        var (protocol, afterProtocol, _) = TorchPickle.LoadAt(buffer, end, continues, path, "the protocol pickle");
        if (protocol is not ProtocolVersion)
            throw new WeightsFormatException($"{path}: a legacy torch.save file of protocol version {protocol}; only {ProtocolVersion} exists", path);
        var (systemInfo, afterInfo, _) = TorchPickle.LoadAt(buffer, afterProtocol, continues, path, "the system-info pickle");
        if (systemInfo is PickleDictionary info && info.TryGetValue("little_endian", out var littleEndian) && littleEndian is false)
            throw new WeightsFormatException($"{path}: a legacy torch.save file written on a big-endian machine, which is not supported", path);
        var (root, afterRoot, storages) = TorchPickle.LoadAt(buffer, afterInfo, continues, path, "the object pickle");
        var (keys, dataStart, _) = TorchPickle.LoadAt(buffer, afterRoot, continues, path, "the storage-key pickle");
        if (keys is not List<object?> keyList || keyList.Any(k => k is not string))
            throw new WeightsFormatException($"{path}: the storage keys of a legacy torch.save file are {TorchPickle.Describe(keys)}, expected a list of strings", path);
        return (root, LegacyStorageRecords.Locate(path, fileLength, dataStart, keyList.Cast<string>().ToList(), storages));
    }
}

/// <summary>Storages laid out one after another after the pickles of a legacy <c>torch.save</c> file.</summary>
sealed class LegacyStorageRecords : TorchStorageRecords
{
    readonly string path;
    readonly Dictionary<string, (long Offset, BigInteger Bytes)> records;

    LegacyStorageRecords(string path, Dictionary<string, (long, BigInteger)> records)
    {
        this.path = path;
        this.records = records;
    }

    /// <summary>
    /// Walks the storages in key order from <paramref name="dataStart"/>: each one's size comes from the pickle's
    /// references and must agree with the count stored before its bytes, and all must lie inside the file.
    /// </summary>
    public static LegacyStorageRecords Locate(string path, long fileLength, long dataStart, List<string> keys,
        IReadOnlyList<TorchStorageReference> references)
    {
        var byKey = new Dictionary<string, TorchStorageReference>(StringComparer.Ordinal);
        foreach (var reference in references) byKey.TryAdd(reference.Key, reference);
        var records = new Dictionary<string, (long, BigInteger)>(StringComparer.Ordinal);
        using var file = File.OpenRead(path);
        Span<byte> count = stackalloc byte[8];
        var offset = new BigInteger(dataStart);
        foreach (var key in keys)
        {
            if (!byKey.TryGetValue(key, out var storage))
                throw new WeightsFormatException($"{path}: storage '{key}' is listed but no tensor refers to it, so its size is unknown", path);
            var bytes = storage.ElementCount * TensorBytes.ElementSize(storage.DType);
            if (offset + 8 + bytes > fileLength)
                throw new WeightsFormatException(
                    $"{path}: storage '{key}' of {storage.ElementCount} {storage.DType} elements ends at byte {offset + 8 + bytes}, beyond the file's {fileLength} (truncated file?)", path);
            file.Seek((long)offset, SeekOrigin.Begin);
            file.ReadExactly(count);
            long stored = BinaryPrimitives.ReadInt64LittleEndian(count);
            if (stored != storage.ElementCount)
                throw new WeightsFormatException(
                    $"{path}: storage '{key}' holds {stored} elements in the file, its tensors' pickle says {storage.ElementCount}", path);
            if (!records.TryAdd(key, ((long)offset + 8, bytes)))
                throw new WeightsFormatException($"{path}: storage '{key}' is listed twice", path);
            offset += 8 + bytes;
        }
        return new LegacyStorageRecords(path, records);
    }

    public override string Describe(TorchStorageReference storage) => $"storage '{storage.Key}'";

    public override BigInteger? Length(TorchStorageReference storage) =>
        records.TryGetValue(storage.Key, out var record) ? record.Bytes : null;

    public override Stream Open(TorchStorageReference storage)
    {
        var stream = File.OpenRead(path);
        stream.Seek(records[storage.Key].Offset, SeekOrigin.Begin);
        return stream;
    }

    public override void Dispose()
    {
    }
}
