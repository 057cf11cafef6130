using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Weights;

/// <summary>
/// numpy <c>.npz</c> archives (a zip of <c>.npy</c> files, stored uncompressed like <c>np.savez</c>), as the ADM
/// evaluator reads them (<c>arr_0</c> images N x H x W x 3 uint8; <c>mu</c>/<c>sigma</c> statistics). Entries are
/// written in the given order with a fixed timestamp, so equal arrays give byte-identical files.
/// </summary>
public static partial class NpzFile
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
                WriteNpy(entryStream, tensor, name);
            }
        });
    }

    /// <param name="only">Read just these arrays (names without <c>.npy</c>; absent ones are skipped); null = all.</param>
    public static Dictionary<string, Tensor> Read(string path, IReadOnlySet<string>? only = null)
    {
        if (!File.Exists(path)) throw new WeightsFormatException($"npz file not found: {path}", path);
        using var zip = ZipFile.OpenRead(path);
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var entry in zip.Entries.Where(e => e.Name.EndsWith(".npy", StringComparison.Ordinal) && (only == null || only.Contains(e.FullName[..^4]))))
        {
            using var stream = entry.Open();
            using var memory = new MemoryStream();
            stream.CopyTo(memory);
            result[entry.FullName[..^4]] = ReadNpy(memory.ToArray(), $"{path}:{entry.FullName}");
        }
        return result;
    }

    static void WriteNpy(Stream stream, Tensor tensor, string name)
    {
        using var cpu = tensor.detach().cpu().contiguous();
        var descr = cpu.dtype switch
        {
            ScalarType.Byte => "|u1",
            ScalarType.Float32 => "<f4",
            ScalarType.Float64 => "<f8",
            ScalarType.Int64 => "<i8",
            ScalarType.Int32 => "<i4",
            ScalarType.Bool => "|b1",
            _ => throw new ArgumentException($"array '{name}' has dtype {cpu.dtype}, which this npz writer does not store"),
        };
        var shape = cpu.shape.Length == 1 ? $"({cpu.shape[0]},)" : $"({string.Join(", ", cpu.shape)})";
        var header = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}";
        int total = 10 + header.Length + 1;
        int padding = (64 - total % 64) % 64;
        header = header + new string(' ', padding) + "\n";
        stream.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0]);
        stream.Write(BitConverter.GetBytes((ushort)header.Length));
        stream.Write(Encoding.ASCII.GetBytes(header));
        stream.Write(cpu.bytes);
    }

    static Tensor ReadNpy(byte[] data, string where)
    {
        if (data.Length < 10 || data[0] != 0x93 || Encoding.ASCII.GetString(data, 1, 5) != "NUMPY")
            throw new WeightsFormatException($"{where}: not an .npy array");
        int major = data[6];
        int headerLength = major == 1 ? BitConverter.ToUInt16(data, 8) : (int)BitConverter.ToUInt32(data, 8);
        int headerStart = major == 1 ? 10 : 12;
        var header = Encoding.ASCII.GetString(data, headerStart, headerLength);
        var descr = DescrPattern().Match(header).Groups[1].Value;
        if (header.Contains("'fortran_order': True"))
            throw new WeightsFormatException($"{where}: Fortran-ordered arrays are not supported");
        var shapeText = ShapePattern().Match(header).Groups[1].Value;
        var shape = shapeText.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(long.Parse).ToArray();
        var dtype = descr switch
        {
            "|u1" or "<u1" => ScalarType.Byte,
            "<f4" => ScalarType.Float32,
            "<f8" => ScalarType.Float64,
            "<i8" => ScalarType.Int64,
            "<i4" => ScalarType.Int32,
            "|b1" => ScalarType.Bool,
            _ => throw new WeightsFormatException($"{where}: unsupported dtype '{descr}'"),
        };
        long elements = shape.Aggregate(1L, (a, b) => a * b);
        var tensor = torch.empty(elements, dtype: dtype);
        var payload = data.AsSpan(headerStart + headerLength);
        if (payload.Length != tensor.bytes.Length)
            throw new WeightsFormatException($"{where}: expected {tensor.bytes.Length} bytes of data, found {payload.Length}");
        payload.CopyTo(tensor.bytes);
        return tensor.reshape(shape);
    }

    [GeneratedRegex(@"'descr':\s*'([^']+)'")]
    private static partial Regex DescrPattern();

    [GeneratedRegex(@"'shape':\s*\(([^)]*)\)")]
    private static partial Regex ShapePattern();
}
