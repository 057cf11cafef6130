using System.Numerics;
using static TorchSharp.torch;

namespace RaePipeline.Weights;

/// <summary>
/// A PyTorch <c>torch.save</c> file: the zip container of PyTorch 1.6 and later (<c>&lt;record&gt;/data.pkl</c>
/// plus one <c>&lt;record&gt;/data/&lt;key&gt;</c> entry per storage) or the legacy layout before it
/// (<see cref="LegacyTorchFile"/>). Pickles are read by a restricted unpickler that never runs code
/// (<see cref="TorchPickle"/>); tensors stay references into the file until read by name, when their sizes,
/// strides and offsets are checked against their storage. Every refusal is a <see cref="WeightsFormatException"/>
/// naming the file, and the tensor where there is one.
/// </summary>
public sealed class TorchPickleFile : IDisposable
{
    const string Kind = "PyTorch torch.save file";

    readonly TorchStorageRecords records;
    readonly Dictionary<string, Tensor> storages = new(StringComparer.Ordinal);

    TorchPickleFile(string path, TorchStorageRecords records, object? root)
    {
        Path = path;
        this.records = records;
        Root = root;
    }

    public string Path { get; }

    /// <summary>The unpickled object (see <see cref="PickleDictionary"/> for the value types).</summary>
    public object? Root { get; }

    public static TorchPickleFile Open(string path)
    {
        if (!File.Exists(path)) throw new WeightsFormatException($"{Kind} not found: {path}", path);
        var start = FirstBytes(path, 4);
        if (start is not [(byte)'P', (byte)'K', 3 or 5, 4 or 6])
        {
            // the legacy layout starts with a pickle (PROTO opcode); anything else is no torch.save file
            var legacy = start is [0x80, ..] ? LegacyTorchFile.TryRead(path) : null;
            if (legacy is { } found) return new TorchPickleFile(path, found.Records, found.Root);
            throw new WeightsFormatException($"{path}: not a {Kind}: {DescribeStart(path)}", path);
        }
        var zip = ZipContainer.Open(path, Kind);
        try
        {
            var pickles = zip.Names.Where(IsRootPickle).ToList();
            if (pickles.Count != 1)
                throw new WeightsFormatException(
                    $"{path}: a zip archive but not a {Kind}: expected one '<name>/data.pkl' record, found " +
                    (pickles.Count == 0 ? $"none among {Describe(zip.Names)}" : string.Join(", ", pickles)), path);
            var record = pickles[0];
            var root = TorchPickle.Load(zip.ReadAll(record), path, record);
            return new TorchPickleFile(path, new ZipStorageRecords(zip, record[..^"data.pkl".Length]), root);
        }
        catch
        {
            zip.Dispose();
            throw;
        }
    }

    /// <summary>The unpickled top-level dictionary; the tensors in it are read through an open <see cref="TorchPickleFile"/>.</summary>
    public static PickleDictionary ReadDictionary(string path)
    {
        using var file = Open(path);
        return file.RootDictionary("a dictionary");
    }

    /// <summary>The dictionary of tensors at <paramref name="key"/> of the top-level dictionary (or the top level itself).</summary>
    public static Dictionary<string, Tensor> ReadTensors(string path, string? key = null)
    {
        using var file = Open(path);
        var top = file.RootDictionary("a dictionary of tensors");
        if (key is null) return file.ReadTensors(top);
        if (!top.TryGetValue(key, out var inner))
            throw new WeightsFormatException($"{path}: no entry '{key}' (found {top.DescribeKeys()})", path);
        return file.ReadTensors(inner as PickleDictionary
                                ?? throw new WeightsFormatException(
                                    $"{path}: entry '{key}' is {TorchPickle.Describe(inner)}, expected a dictionary of tensors", path), key);
    }

    /// <summary>The root, which must be a dictionary; <paramref name="expected"/> says what it should hold, for the refusal.</summary>
    public PickleDictionary RootDictionary(string expected) =>
        Root as PickleDictionary
        ?? throw new WeightsFormatException($"{Path}: expected {expected} at the top level, found {TorchPickle.Describe(Root)}", Path);

    /// <summary>Every entry of <paramref name="dictionary"/> (string keys, tensor values) read as a tensor.</summary>
    /// <param name="within">The entry the dictionary is, for messages (for example <c>ema</c>).</param>
    public Dictionary<string, Tensor> ReadTensors(PickleDictionary dictionary, string? within = null)
    {
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var (key, value) in dictionary.Entries)
            {
                if (key is not string name)
                    throw new WeightsFormatException(
                        $"{Path}: {(within is null ? "the state dict" : $"entry '{within}'")} has the key {key} ({TorchPickle.Describe(key)}), expected tensor names", Path);
                result[name] = ReadTensor(value, within is null ? name : $"{within}.{name}");
            }
            return result;
        }
        catch
        {
            foreach (var tensor in result.Values) tensor.Dispose();
            throw;
        }
    }

    /// <summary>The tensor <paramref name="value"/> refers to, read from its storage; <paramref name="name"/> names it in messages.</summary>
    public Tensor ReadTensor(object? value, string name)
    {
        var (reference, shape, stride, offset) = Check(value, name);
        var storage = Storage(reference.Storage, name);
        return storage.as_strided(shape, stride, offset);
    }

    /// <summary>The shape of the tensor <paramref name="value"/> refers to, checked against its storage without reading it.</summary>
    public long[] TensorShape(object? value, string name) => Check(value, name).Shape;

    (TorchTensorReference Reference, long[] Shape, long[] Stride, long Offset) Check(object? value, string name)
    {
        if (value is not TorchTensorReference reference)
            throw new WeightsFormatException($"{Path}: '{name}' is {TorchPickle.Describe(value)}, expected a tensor", Path);
        var storage = reference.Storage;
        var where = $"{Path}: tensor '{name}'";
        if (reference.Size.Length != reference.Stride.Length)
            throw new WeightsFormatException($"{where} has {reference.Size.Length} sizes but {reference.Stride.Length} strides", Path);
        if (reference.Size.Any(s => s < 0 || s > long.MaxValue) || reference.Stride.Any(s => s < 0 || s > long.MaxValue))
            throw new WeightsFormatException(
                $"{where} has size [{string.Join(", ", reference.Size)}] and stride [{string.Join(", ", reference.Stride)}]; both must be non-negative 64-bit integers", Path);
        if (reference.Offset < 0 || reference.Offset > storage.ElementCount)
            throw new WeightsFormatException(
                $"{where} has storage offset {reference.Offset}, outside its storage '{storage.Key}' of {storage.ElementCount} elements", Path);
        bool empty = reference.Size.Any(s => s.IsZero);
        var last = reference.Offset + reference.Size.Zip(reference.Stride, (s, t) => (s - 1) * t).Aggregate(BigInteger.Zero, (a, b) => a + b);
        if (!empty && last >= storage.ElementCount)
            throw new WeightsFormatException(
                $"{where} of size [{string.Join(", ", reference.Size)}], stride [{string.Join(", ", reference.Stride)}] and storage offset {reference.Offset} " +
                $"reaches element {last} of its storage '{storage.Key}', which holds {storage.ElementCount}", Path);
        if (records.Length(storage) is not { } length)
            throw new WeightsFormatException($"{where}: its storage {records.Describe(storage)} is missing from the file", Path);
        var bytes = storage.ElementCount * TensorBytes.ElementSize(storage.DType);
        if (bytes != length)
            throw new WeightsFormatException(
                $"{where}: its storage '{storage.Key}' of {storage.ElementCount} {storage.DType} elements needs {bytes} bytes, {records.Describe(storage)} holds {length}", Path);
        return (reference, reference.Size.Select(s => (long)s).ToArray(), reference.Stride.Select(s => (long)s).ToArray(), (long)reference.Offset);
    }

    /// <summary>A storage's elements (1-D), read once per file and shared by the tensors that view it.</summary>
    Tensor Storage(TorchStorageReference storage, string name)
    {
        if (storages.TryGetValue(storage.Key, out var cached)) return cached;
        using var stream = records.Open(storage);
        var tensor = TensorBytes.Read(stream, [(long)storage.ElementCount], storage.DType, $"storage '{storage.Key}' of tensor '{name}'", Path);
        tensor.DetachFromDisposeScope();
        storages[storage.Key] = tensor;
        return tensor;
    }

    static byte[] FirstBytes(string path, int count)
    {
        var head = new byte[count];
        using var stream = File.OpenRead(path);
        return head[..stream.ReadAtLeast(head, count, throwOnEndOfStream: false)];
    }

    /// <summary>What a file that is neither a zip archive nor a legacy torch.save file looks like, for the refusal.</summary>
    static string DescribeStart(string path)
    {
        var head = FirstBytes(path, 64);
        if (head.Length == 0) return "the file is empty";
        bool text = head.All(b => b is (>= 0x20 and < 0x7f) or (byte)'\n' or (byte)'\r' or (byte)'\t');
        return (text ? "it starts like a text file: " : "") +
               "it is neither a zip archive (torch.save since PyTorch 1.6) nor a legacy torch.save pickle";
    }

    static bool IsRootPickle(string name)
    {
        int slash = name.IndexOf('/');
        return slash > 0 && name[(slash + 1)..] == "data.pkl";
    }

    static string Describe(IReadOnlyList<string> names) =>
        names.Count == 0 ? "no entries" : string.Join(", ", names.Take(8).Select(n => $"'{n}'")) + (names.Count > 8 ? ", ..." : "");

    public void Dispose()
    {
        foreach (var storage in storages.Values) storage.Dispose();
        storages.Clear();
        records.Dispose();
    }
}
