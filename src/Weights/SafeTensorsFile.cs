using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Weights;

/// <summary>
/// The safetensors format: 8-byte little-endian header length, a JSON header
/// (<c>{name: {dtype, shape, data_offsets}, "__metadata__": {...}}</c>), then raw little-endian data.
/// </summary>
public static class SafeTensorsFile
{
    /// <summary>Name, dtype and shape of one stored tensor, read without loading data.</summary>
    public sealed record Entry(string Name, string DType, long[] Shape, long Begin, long End);

    public sealed record Header(IReadOnlyList<Entry> Entries, IReadOnlyDictionary<string, string> Metadata, long DataStart);

    /// <summary>The limit the reference implementation puts on the JSON header.</summary>
    const ulong MaximumHeaderLength = 100_000_000;
    const string MetadataKey = "__metadata__";

    public static Header ReadHeader(string path)
    {
        using var stream = OpenRead(path);
        return ReadHeader(stream, path);
    }

    /// <summary>Every tensor of the file, on the CPU, in its stored dtype.</summary>
    public static Dictionary<string, Tensor> Read(string path)
    {
        using var stream = OpenRead(path);
        var header = ReadHeader(stream, path);
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var entry in header.Entries)
            {
                stream.Seek(header.DataStart + entry.Begin, SeekOrigin.Begin);
                result[entry.Name] = TensorBytes.Read(stream, entry.Shape, DTypeOf(entry.DType), $"tensor '{entry.Name}'", path);
            }
            return result;
        }
        catch
        {
            foreach (var tensor in result.Values) tensor.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Writes tensors (moved to CPU, made contiguous) and metadata. The file appears complete or not at all:
    /// data goes to a temporary file that is flushed and then renamed over the target.
    /// </summary>
    public static void Write(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        var items = tensors.Select(kv => (kv.Key, Tensor: kv.Value.detach().cpu().contiguous())).ToList();
        try
        {
            var header = new JsonObject();
            var meta = new JsonObject { ["format"] = "pt" };
            if (metadata != null)
                foreach (var (k, v) in metadata) meta[k] = v;
            header[MetadataKey] = meta;
            long offset = 0;
            foreach (var (name, tensor) in items)
            {
                if (name == MetadataKey || header.ContainsKey(name))
                    throw new ArgumentException($"{path}: tensor name '{name}' is reserved or given twice");
                long bytes = tensor.NumberOfElements * tensor.ElementSize;
                header[name] = new JsonObject
                {
                    ["dtype"] = DTypeName(tensor.dtype, name),
                    ["shape"] = new JsonArray(tensor.shape.Select(d => (JsonNode)JsonValue.Create(d)!).ToArray()),
                    ["data_offsets"] = new JsonArray(JsonValue.Create(offset), JsonValue.Create(offset + bytes)),
                };
                offset += bytes;
            }
            var json = Encoding.UTF8.GetBytes(header.ToJsonString());
            int padded = (json.Length + 7) / 8 * 8;
            AtomicFile.Write(path, stream =>
            {
                Span<byte> length = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)padded);
                stream.Write(length);
                stream.Write(json);
                for (int i = json.Length; i < padded; i++) stream.WriteByte((byte)' ');
                foreach (var (_, tensor) in items) TensorBytes.Write(stream, tensor);
            });
        }
        finally
        {
            foreach (var (_, tensor) in items) tensor.Dispose();
        }
    }

    static FileStream OpenRead(string path)
    {
        if (!File.Exists(path)) throw new WeightsFormatException($"safetensors file not found: {path}", path);
        return File.OpenRead(path);
    }

    static Header ReadHeader(Stream stream, string path)
    {
        Span<byte> lengthBytes = stackalloc byte[8];
        if (TensorBytes.ReadAtMost(stream, lengthBytes, "the header length", path) != 8)
            throw new WeightsFormatException($"{path}: {stream.Length} bytes, too short for a safetensors file", path);
        ulong length = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (length > MaximumHeaderLength || (long)length > stream.Length - 8)
            throw new WeightsFormatException(
                $"{path}: not a safetensors file (its first 8 bytes give a header length of {length}, the file holds {stream.Length} bytes)", path);
        var json = new byte[length];
        TensorBytes.ReadExactly(stream, json, "the header", path);
        long dataStart = 8 + (long)length, dataLength = stream.Length - dataStart;
        if (!System.Text.Unicode.Utf8.IsValid(json))
            throw new WeightsFormatException($"{path}: safetensors header is not valid UTF-8 text", path);
        try
        {
            using var document = JsonDocument.Parse(json);
            return ParseHeader(document.RootElement, dataStart, dataLength, path);
        }
        catch (JsonException e)
        {
            throw new WeightsFormatException($"{path}: safetensors header is not valid JSON: {e.Message}", path, e);
        }
    }

    /// <summary>
    /// The header's structure as the format defines it: an object of tensor entries
    /// <c>{"dtype": str, "shape": [int >= 0], "data_offsets": [begin, end]}</c> and an optional
    /// <c>"__metadata__"</c> object of strings; every tensor's bytes lie inside the data block and match its shape.
    /// </summary>
    static Header ParseHeader(JsonElement root, long dataStart, long dataLength, string path)
    {
        if (root.ValueKind != JsonValueKind.Object)
            throw new WeightsFormatException($"{path}: safetensors header is a JSON {Kind(root)}, expected an object of tensors", path);
        var entries = new List<Entry>();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in root.EnumerateObject())
        {
            var name = property.Name;
            if (!seen.Add(name)) throw new WeightsFormatException($"{path}: safetensors header lists '{name}' twice", path);
            var value = property.Value;
            if (name == MetadataKey)
            {
                if (value.ValueKind != JsonValueKind.Object)
                    throw new WeightsFormatException($"{path}: '{MetadataKey}' is a JSON {Kind(value)}, expected an object of strings", path);
                foreach (var item in value.EnumerateObject())
                    metadata[item.Name] = item.Value.ValueKind == JsonValueKind.String
                        ? item.Value.GetString()!
                        : throw new WeightsFormatException(
                            $"{path}: metadata '{item.Name}' is a JSON {Kind(item.Value)}, expected a string", path);
                continue;
            }
            entries.Add(ParseEntry(name, value, dataLength, path));
        }
        return new Header(entries, metadata, dataStart);
    }

    static Entry ParseEntry(string name, JsonElement value, long dataLength, string path)
    {
        string where = $"{path}: tensor '{name}'";
        if (value.ValueKind != JsonValueKind.Object)
            throw new WeightsFormatException($"{where} is a JSON {Kind(value)}, expected {{\"dtype\", \"shape\", \"data_offsets\"}}", path);
        var dtype = Field(value, "dtype", JsonValueKind.String, where, path).GetString()!;
        var dtypeType = DTypeOf(dtype, where, path);
        var shape = Integers(Field(value, "shape", JsonValueKind.Array, where, path), "shape", where, path);
        var offsets = Integers(Field(value, "data_offsets", JsonValueKind.Array, where, path), "data_offsets", where, path);
        if (offsets.Length != 2)
            throw new WeightsFormatException($"{where} has {offsets.Length} data_offsets, expected [begin, end]", path);
        long begin = offsets[0], end = offsets[1];
        if (end < begin || end > dataLength)
            throw new WeightsFormatException(
                $"{where} lies at bytes [{begin}, {end}) of the data, outside the {dataLength} data bytes the file holds (truncated?)", path);
        var needed = TensorBytes.ByteCount(shape, dtypeType);
        if (needed != end - begin)
            throw new WeightsFormatException(
                $"{where} of shape {TensorBytes.Format(shape)} {dtype} needs {needed} bytes, its data_offsets give {end - begin}", path);
        return new Entry(name, dtype, shape, begin, end);
    }

    static JsonElement Field(JsonElement entry, string field, JsonValueKind kind, string where, string path)
    {
        if (!entry.TryGetProperty(field, out var value))
            throw new WeightsFormatException($"{where} has no \"{field}\"", path);
        if (value.ValueKind != kind)
            throw new WeightsFormatException(
                $"{where} has \"{field}\" {Shorten(value.GetRawText())}, a JSON {Kind(value)} where {(kind == JsonValueKind.Array ? "an array" : "a string")} belongs", path);
        return value;
    }

    static long[] Integers(JsonElement array, string field, string where, string path)
    {
        var result = new long[array.GetArrayLength()];
        int i = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out var value) || value < 0)
                throw new WeightsFormatException(
                    $"{where} has {field}[{i}] = {Shorten(item.GetRawText())}, expected a non-negative integer", path);
            result[i++] = value;
        }
        return result;
    }

    static ScalarType DTypeOf(string dtype, string where = "", string path = "") => dtype switch
    {
        "F64" => ScalarType.Float64,
        "F32" => ScalarType.Float32,
        "F16" => ScalarType.Float16,
        "BF16" => ScalarType.BFloat16,
        "I64" => ScalarType.Int64,
        "I32" => ScalarType.Int32,
        "I16" => ScalarType.Int16,
        "I8" => ScalarType.Int8,
        "U8" => ScalarType.Byte,
        "BOOL" => ScalarType.Bool,
        _ => throw new WeightsFormatException(
            $"{where} has dtype '{Shorten(dtype)}'; supported are F64, F32, F16, BF16, I64, I32, I16, I8, U8 and BOOL", path),
    };

    static string Kind(JsonElement element) => element.ValueKind.ToString().ToLowerInvariant();

    static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "...";

    static string DTypeName(ScalarType type, string name) => type switch
    {
        ScalarType.Float64 => "F64",
        ScalarType.Float32 => "F32",
        ScalarType.Float16 => "F16",
        ScalarType.BFloat16 => "BF16",
        ScalarType.Int64 => "I64",
        ScalarType.Int32 => "I32",
        ScalarType.Int16 => "I16",
        ScalarType.Int8 => "I8",
        ScalarType.Byte => "U8",
        ScalarType.Bool => "BOOL",
        _ => throw new ArgumentException($"tensor '{name}' has dtype {type}, which safetensors cannot store"),
    };
}
