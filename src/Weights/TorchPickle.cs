using System.Buffers.Binary;
using System.Numerics;
using System.Text;
using static TorchSharp.torch;

namespace RaePipeline.Weights;

/// <summary>
/// A restricted unpickler for the pickle of a <c>torch.save</c> archive (protocols 2 to 5). It builds plain data
/// (None, bools, ints, floats, strings, bytes, tuples, lists, dicts and OrderedDicts) and tensor references, and
/// knows only the globals such files need (<c>collections.OrderedDict</c>, <c>torch._utils._rebuild_tensor_v2</c>,
/// <c>torch.FloatStorage</c>, <c>_codecs.encode</c> for bytes, ...); any other global is refused by name, so no code named by a file ever runs.
/// Every read is bounds-checked against the pickle's bytes, so nothing is allocated beyond what the file holds.
/// </summary>
sealed class TorchPickle
{
    enum Callable { OrderedDict, RebuildTensor, RebuildTensorV2, RebuildParameter, TorchSize, Encode }

    sealed record StorageType(ScalarType DType, string Name);

    sealed class Mark;

    static readonly Mark MarkObject = new();

    readonly byte[] data;
    readonly bool dataContinues;
    readonly string path;
    readonly string record;
    readonly List<object?> stack = [];
    readonly Dictionary<long, object?> memo = [];
    readonly List<TorchStorageReference> storages = [];
    int position;

    TorchPickle(byte[] data, int start, bool dataContinues, string path, string record)
    {
        this.data = data;
        this.dataContinues = dataContinues;
        this.path = path;
        this.record = record;
        position = start;
    }

    /// <summary>Unpickles <paramref name="data"/>, the archive's <paramref name="record"/> (for messages).</summary>
    public static object? Load(byte[] data, string path, string record) => new TorchPickle(data, 0, false, path, record).Run();

    /// <summary>
    /// Unpickles the pickle at <paramref name="start"/> of <paramref name="data"/>, one of several in a row; returns
    /// the value, where the pickle ends and the storages it refers to. When <paramref name="dataContinues"/> (the
    /// buffer holds only the start of the file), a pickle that runs past the buffer throws <see cref="NeedMoreBytes"/>.
    /// </summary>
    public static (object? Value, int End, IReadOnlyList<TorchStorageReference> Storages) LoadAt(
        byte[] data, int start, bool dataContinues, string path, string record)
    {
        var pickle = new TorchPickle(data, start, dataContinues, path, record);
        var value = pickle.Run();
        return (value, pickle.position, pickle.storages);
    }

    /// <summary>A pickle reaches past the bytes read so far; read more of the file and start again.</summary>
    public sealed class NeedMoreBytes : Exception;

    /// <summary>The Python type of a value, for messages.</summary>
    public static string Describe(object? value) => value switch
    {
        null => "None",
        bool => "a bool",
        long or BigInteger => "an int",
        double => "a float",
        string => "a str",
        byte[] => "bytes",
        object?[] tuple => $"a tuple of {tuple.Length}",
        List<object?> list => $"a list of {list.Count}",
        PickleDictionary dictionary => $"a dict of {dictionary.Count}",
        TorchTensorReference => "a tensor",
        TorchStorageReference => "a storage",
        _ => value.GetType().Name,
    };

    object? Run()
    {
        while (true)
        {
            long at = position;
            byte opcode = Byte();
            switch (opcode)
            {
                case 0x80: // PROTO
                    int protocol = Byte();
                    if (protocol is < 2 or > 5) throw Refuse(at, $"pickle protocol {protocol}; torch.save writes protocols 2 to 5");
                    break;
                case 0x95: // FRAME
                    Bytes(8);
                    break;
                case (byte)'.': // STOP
                    var result = Pop(at);
                    return result is Mark ? throw Refuse(at, "STOP with a mark on the stack") : result;
                case (byte)'(': stack.Add(MarkObject); break;
                case (byte)'0': Pop(at); break;
                case (byte)'1': PopToMark(at); break;
                case (byte)'2': Push(Peek(at)); break;
                case (byte)'N': Push(null); break;
                case 0x88: Push(true); break;
                case 0x89: Push(false); break;
                case (byte)'J': Push((long)BinaryPrimitives.ReadInt32LittleEndian(Bytes(4))); break;
                case (byte)'K': Push((long)Byte()); break;
                case (byte)'M': Push((long)BinaryPrimitives.ReadUInt16LittleEndian(Bytes(2))); break;
                case 0x8a: Push(Integer(Bytes(Byte()))); break; // LONG1
                case 0x8b: Push(Integer(Bytes(Length(4, at)))); break; // LONG4
                case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(Bytes(8))); break; // BINFLOAT
                case (byte)'X': Push(Utf8(Bytes(Length(4, at)), at)); break; // BINUNICODE
                case 0x8c: Push(Utf8(Bytes(Byte()), at)); break; // SHORT_BINUNICODE
                case 0x8d: Push(Utf8(Bytes(Length(8, at)), at)); break; // BINUNICODE8
                case (byte)'T': Push(Encoding.Latin1.GetString(Bytes(Length(4, at)))); break; // BINSTRING (Python 2 str)
                case (byte)'U': Push(Encoding.Latin1.GetString(Bytes(Byte()))); break; // SHORT_BINSTRING
                case (byte)'B': Push(Bytes(Length(4, at)).ToArray()); break; // BINBYTES
                case (byte)'C': Push(Bytes(Byte()).ToArray()); break; // SHORT_BINBYTES
                case 0x8e: Push(Bytes(Length(8, at)).ToArray()); break; // BINBYTES8
                case (byte)')': Push(Array.Empty<object?>()); break;
                case (byte)'t': Push(PopToMark(at).ToArray()); break;
                case 0x85: Push(new[] { Pop(at) }); break;
                case 0x86: { var b = Pop(at); var a = Pop(at); Push(new[] { a, b }); break; }
                case 0x87: { var c = Pop(at); var b = Pop(at); var a = Pop(at); Push(new[] { a, b, c }); break; }
                case (byte)']': Push(new List<object?>()); break;
                case (byte)'l': Push(PopToMark(at)); break;
                case (byte)'a': { var item = Pop(at); ListAt(at).Add(item); break; }
                case (byte)'e': { var items = PopToMark(at); ListAt(at).AddRange(items); break; }
                case (byte)'}': Push(new PickleDictionary()); break;
                case (byte)'d': { var items = PopToMark(at); var dictionary = new PickleDictionary(); SetItems(dictionary, items, at); Push(dictionary); break; }
                case (byte)'s': { var value = Pop(at); var key = Pop(at); SetItems(DictionaryAt(at), [key, value], at); break; }
                case (byte)'u': { var items = PopToMark(at); SetItems(DictionaryAt(at), items, at); break; }
                case (byte)'c': Push(Global(Line(at), Line(at), at)); break; // GLOBAL
                case 0x93: // STACK_GLOBAL
                {
                    var name = Pop(at);
                    var module = Pop(at);
                    if (module is not string m || name is not string n) throw Refuse(at, "STACK_GLOBAL needs two strings");
                    Push(Global(m, n, at));
                    break;
                }
                case (byte)'R': { var arguments = Pop(at); var callable = Pop(at); Push(Reduce(callable, arguments, at)); break; }
                case (byte)'b': Build(Pop(at), at); break;
                case (byte)'q': memo[Byte()] = Peek(at); break; // BINPUT
                case (byte)'r': memo[BinaryPrimitives.ReadUInt32LittleEndian(Bytes(4))] = Peek(at); break; // LONG_BINPUT
                case 0x94: memo[memo.Count] = Peek(at); break; // MEMOIZE
                case (byte)'h': Push(Memo(Byte(), at)); break; // BINGET
                case (byte)'j': Push(Memo(BinaryPrimitives.ReadUInt32LittleEndian(Bytes(4)), at)); break; // LONG_BINGET
                case (byte)'Q': // BINPERSID
                {
                    Push(Storage(Pop(at), at));
                    break;
                }
                default:
                    throw Refuse(at, $"pickle opcode 0x{opcode:x2} ('{(opcode is >= 32 and < 127 ? (char)opcode : '?')}') is not supported in a torch.save file");
            }
        }
    }

    object Global(string module, string name, long at)
    {
        if (module == "torch" && name.EndsWith("Storage", StringComparison.Ordinal))
        {
            var dtype = name switch
            {
                "DoubleStorage" => ScalarType.Float64,
                "FloatStorage" => ScalarType.Float32,
                "HalfStorage" => ScalarType.Float16,
                "BFloat16Storage" => ScalarType.BFloat16,
                "LongStorage" => ScalarType.Int64,
                "IntStorage" => ScalarType.Int32,
                "ShortStorage" => ScalarType.Int16,
                "CharStorage" => ScalarType.Int8,
                "ByteStorage" => ScalarType.Byte,
                "BoolStorage" => ScalarType.Bool,
                "ComplexFloatStorage" => ScalarType.ComplexFloat32,
                "ComplexDoubleStorage" => ScalarType.ComplexFloat64,
                _ => (ScalarType?)null,
            };
            if (dtype is { } type) return new StorageType(type, name);
        }
        return (module, name) switch
        {
            ("collections", "OrderedDict") => Callable.OrderedDict,
            ("torch._utils", "_rebuild_tensor") => Callable.RebuildTensor,
            ("torch._utils", "_rebuild_tensor_v2") => Callable.RebuildTensorV2,
            ("torch._utils", "_rebuild_parameter") => Callable.RebuildParameter,
            ("torch", "Size") => Callable.TorchSize,
            ("_codecs", "encode") => Callable.Encode,
            _ => throw Refuse(at,
                $"the pickle names the global '{Shorten(module)}.{Shorten(name)}', which is not allowed: a weights file may hold " +
                "tensors, storages, OrderedDicts and plain Python data only (nothing in the file was run)"),
        };
    }

    /// <summary>
    /// The persistent id <c>('storage', torch.FloatStorage, key, location, numel)</c> of a storage record (the legacy
    /// format adds a sixth element, the view metadata of PyTorch before 1.0, None since).
    /// </summary>
    TorchStorageReference Storage(object? id, long at)
    {
        if (id is not object?[] { Length: 5 or 6 } tuple || tuple[0] is not "storage" || tuple[1] is not StorageType type ||
            tuple[2] is not string key || tuple[3] is not string location || !IsInteger(tuple[4]) || AsInteger(tuple[4]) < 0)
            throw Refuse(at, $"persistent id {(id is object?[] t ? DescribeAll(t) : Describe(id))} is not ('storage', <type>Storage, key, location, numel)");
        if (tuple.Length == 6 && tuple[5] is not null)
            throw Refuse(at, "a storage view (view metadata of PyTorch before 1.0), which is not supported; re-save the file with a current PyTorch");
        var storage = new TorchStorageReference(key, type.DType, AsInteger(tuple[4]), location);
        storages.Add(storage);
        return storage;
    }

    object? Reduce(object? callable, object? arguments, long at)
    {
        if (callable is not Callable function)
            throw Refuse(at, $"REDUCE calls {Describe(callable)}, which is not callable");
        if (arguments is not object?[] args)
            throw Refuse(at, $"REDUCE passes {Describe(arguments)} as arguments, expected a tuple");
        switch (function)
        {
            case Callable.OrderedDict:
                var dictionary = new PickleDictionary();
                // OrderedDict() or OrderedDict(iterable of pairs), the iterable a list or a tuple, each pair a tuple or a list
                IReadOnlyList<object?> pairs = args.Length switch
                {
                    0 => Array.Empty<object?>(),
                    1 when args[0] is List<object?> list => list,
                    1 when args[0] is object?[] tuple => tuple,
                    _ => throw Refuse(at, $"OrderedDict is called with {DescribeAll(args)}, expected no arguments or a sequence of pairs"),
                };
                foreach (var pair in pairs)
                    SetItems(dictionary, pair switch
                    {
                        object?[] { Length: 2 } kv => new List<object?> { kv[0], kv[1] },
                        List<object?> { Count: 2 } kv => kv,
                        _ => throw Refuse(at, $"OrderedDict items must be pairs, found {Describe(pair)}"),
                    }, at);
                return dictionary;
            case Callable.Encode:
                // protocol 2 pickles Python bytes as _codecs.encode(str, 'latin1')
                return args is [string text, "latin1" or "latin-1"]
                    ? Encoding.Latin1.GetBytes(text)
                    : throw Refuse(at, $"_codecs.encode is called with {DescribeAll(args)}, expected (str, 'latin1')");
            case Callable.TorchSize:
                return args.Length == 1 && args[0] is object?[] sizes ? sizes : throw Refuse(at, "torch.Size expects one tuple");
            case Callable.RebuildParameter:
                return args.Length >= 1 && args[0] is TorchTensorReference parameter
                    ? parameter
                    : throw Refuse(at, $"_rebuild_parameter expects (tensor, requires_grad, hooks), found {DescribeAll(args)}");
            default:
                int expected = function == Callable.RebuildTensor ? 4 : 6;
                if (args.Length < expected || args[0] is not TorchStorageReference storage || !IsInteger(args[1]) ||
                    args[2] is not object?[] size || args[3] is not object?[] stride || !size.All(IsInteger) || !stride.All(IsInteger))
                    throw Refuse(at, $"a tensor is rebuilt from (storage, offset, size, stride, ...), found {DescribeAll(args)}");
                return new TorchTensorReference(storage, AsInteger(args[1]), size.Select(AsInteger).ToArray(), stride.Select(AsInteger).ToArray());
        }
    }

    void Build(object? state, long at)
    {
        // An OrderedDict from state_dict() carries its `_metadata` attribute as BUILD state; it holds module versions only.
        if (Peek(at) is PickleDictionary && state is PickleDictionary or null) return;
        throw Refuse(at, $"BUILD sets the state of {Describe(Peek(at))}, which only objects have; the file holds objects other than data");
    }

    void SetItems(PickleDictionary dictionary, List<object?> items, long at)
    {
        if (items.Count % 2 != 0) throw Refuse(at, "a dict is given an odd number of keys and values");
        for (int i = 0; i < items.Count; i += 2)
        {
            var key = items[i];
            if (key is not (string or long or BigInteger or bool or double))
                throw Refuse(at, $"a dict key is {Describe(key)}; keys must be strings or numbers");
            dictionary.Set(key, items[i + 1]);
        }
    }

    static bool IsInteger(object? value) => value is long or BigInteger;

    static BigInteger AsInteger(object? value) => value is long l ? l : (BigInteger)value!;

    static string DescribeAll(object?[] args) => $"({string.Join(", ", args.Select(Describe))})";

    static object Integer(ReadOnlySpan<byte> bytes)
    {
        var value = new BigInteger(bytes, isUnsigned: false, isBigEndian: false);
        return value >= long.MinValue && value <= long.MaxValue ? (object)(long)value : value;
    }

    object? Memo(long index, long at) =>
        memo.TryGetValue(index, out var value) ? value : throw Refuse(at, $"memo entry {index} is read before it is written");

    List<object?> ListAt(long at) => Peek(at) as List<object?> ?? throw Refuse(at, $"APPEND to {Describe(Peek(at))}, which is not a list");

    PickleDictionary DictionaryAt(long at) =>
        Peek(at) as PickleDictionary ?? throw Refuse(at, $"SETITEM on {Describe(Peek(at))}, which is not a dict");

    void Push(object? value) => stack.Add(value);

    object? Peek(long at) => stack.Count > 0 && stack[^1] is not Mark ? stack[^1] : throw Refuse(at, "the pickle reads from an empty stack");

    object? Pop(long at)
    {
        var value = Peek(at);
        stack.RemoveAt(stack.Count - 1);
        return value;
    }

    List<object?> PopToMark(long at)
    {
        int mark = stack.FindLastIndex(v => v is Mark);
        if (mark < 0) throw Refuse(at, "the pickle closes a mark it never opened");
        var items = stack.GetRange(mark + 1, stack.Count - mark - 1);
        stack.RemoveRange(mark, stack.Count - mark);
        return items;
    }

    byte Byte() => Bytes(1)[0];

    ReadOnlySpan<byte> Bytes(long count)
    {
        if (count > data.Length - position && dataContinues) throw new NeedMoreBytes();
        if (count < 0 || count > data.Length - position)
            throw Refuse(position, $"the pickle ends early (needs {count} more bytes, {data.Length - position} remain; truncated file?)");
        var span = data.AsSpan(position, (int)count);
        position += (int)count;
        return span;
    }

    /// <summary>A length field of <paramref name="size"/> bytes, checked against the bytes that remain.</summary>
    long Length(int size, long at)
    {
        var bytes = Bytes(size);
        ulong length = size == 4 ? BinaryPrimitives.ReadUInt32LittleEndian(bytes) : BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (length > (ulong)(data.Length - position) && dataContinues) throw new NeedMoreBytes();
        if (length > (ulong)(data.Length - position))
            throw Refuse(at, $"the pickle announces {length} bytes of data, only {data.Length - position} remain (truncated or corrupt file?)");
        return (long)length;
    }

    string Line(long at)
    {
        int end = Array.IndexOf(data, (byte)'\n', position, Math.Min(256, data.Length - position));
        if (end < 0 && dataContinues && data.Length - position < 256) throw new NeedMoreBytes();
        if (end < 0)
            throw Refuse(at, data.Length - position < 256
                ? "the pickle ends inside a GLOBAL name (truncated file?)"
                : "GLOBAL without a newline-terminated name");
        var text = Encoding.UTF8.GetString(data, position, end - position);
        position = end + 1;
        return text;
    }

    string Utf8(ReadOnlySpan<byte> bytes, long at)
    {
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw Refuse(at, "a string is not valid UTF-8");
        }
    }

    static string Shorten(string text) => text.Length <= 60 ? text : text[..60] + "...";

    WeightsFormatException Refuse(long at, string what) => new($"{path}: {record} at byte {at}: {what}", path);
}
