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
        foreach (var entry in header.Entries)
        {
            var bytes = new byte[entry.End - entry.Begin];
            stream.Seek(header.DataStart + entry.Begin, SeekOrigin.Begin);
            stream.ReadExactly(bytes);
            result[entry.Name] = FromBytes(bytes, entry, path);
        }
        return result;
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
            header["__metadata__"] = meta;
            long offset = 0;
            var blobs = new List<byte[]>();
            foreach (var (name, tensor) in items)
            {
                var bytes = ToBytes(tensor, name);
                header[name] = new JsonObject
                {
                    ["dtype"] = DTypeName(tensor.dtype, name),
                    ["shape"] = new JsonArray(tensor.shape.Select(d => (JsonNode)JsonValue.Create(d)!).ToArray()),
                    ["data_offsets"] = new JsonArray(JsonValue.Create(offset), JsonValue.Create(offset + bytes.Length)),
                };
                offset += bytes.Length;
                blobs.Add(bytes);
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
                foreach (var blob in blobs) stream.Write(blob);
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
        if (stream.Read(lengthBytes) != 8)
            throw new WeightsFormatException($"{path}: too short for a safetensors file", path);
        ulong length = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (length > 100_000_000 || (long)length > stream.Length - 8)
            throw new WeightsFormatException($"{path}: not a safetensors file (header length {length})", path);
        var json = new byte[length];
        stream.ReadExactly(json);
        JsonObject root;
        try
        {
            root = JsonNode.Parse(json)!.AsObject();
        }
        catch (JsonException e)
        {
            throw new WeightsFormatException($"{path}: safetensors header is not valid JSON: {e.Message}", path, e);
        }
        var entries = new List<Entry>();
        var metadata = new Dictionary<string, string>();
        foreach (var (name, node) in root)
        {
            if (name == "__metadata__")
            {
                foreach (var (k, v) in node!.AsObject()) metadata[k] = v?.ToString() ?? "";
                continue;
            }
            var o = node!.AsObject();
            var offsets = o["data_offsets"]!.AsArray();
            var entry = new Entry(name, o["dtype"]!.GetValue<string>(),
                o["shape"]!.AsArray().Select(d => d!.GetValue<long>()).ToArray(),
                offsets[0]!.GetValue<long>(), offsets[1]!.GetValue<long>());
            if (entry.Begin < 0 || entry.End < entry.Begin || 8 + (long)length + entry.End > stream.Length)
                throw new WeightsFormatException(
                    $"{path}: tensor '{name}' lies at bytes [{entry.Begin}, {entry.End}) of the data, beyond the end of the file (truncated?)", path);
            entries.Add(entry);
        }
        return new Header(entries, metadata, 8 + (long)length);
    }

    static Tensor FromBytes(byte[] bytes, Entry entry, string path)
    {
        var dtype = entry.DType switch
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
            _ => throw new WeightsFormatException($"{path}: tensor '{entry.Name}' has unsupported dtype {entry.DType}", path),
        };
        long elements = entry.Shape.Aggregate(1L, (a, b) => a * b);
        if (elements * ElementSize(dtype) != bytes.Length)
            throw new WeightsFormatException(
                $"{path}: tensor '{entry.Name}' of shape [{string.Join(", ", entry.Shape)}] {entry.DType} needs {elements * ElementSize(dtype)} bytes, the file gives {bytes.Length}", path);
        var flat = torch.empty(elements, dtype: dtype);
        bytes.CopyTo(flat.bytes);
        return flat.reshape(entry.Shape);
    }

    static byte[] ToBytes(Tensor tensor, string name)
    {
        DTypeName(tensor.dtype, name);
        return tensor.bytes.ToArray();
    }

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

    static int ElementSize(ScalarType type) => type switch
    {
        ScalarType.Float64 or ScalarType.Int64 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        _ => 1,
    };
}
