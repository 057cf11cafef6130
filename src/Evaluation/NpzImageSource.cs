using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;
using RaePipeline.Imaging;
using static TorchSharp.torch;

namespace RaePipeline.Evaluation;

/// <summary>
/// <c>arr_0</c> of an ADM-style npz (N × H × W × 3 uint8, C order, as <c>sample_ddp.py</c> and the reference batches
/// store it), streamed from the archive batch by batch like the ADM evaluator's <c>StreamingNpzArrayReader</c>.
/// </summary>
public sealed partial class NpzImageSource : ImageSource
{
    const string ArrayEntry = "arr_0.npy";
    readonly string path;
    readonly long[] shape;

    public NpzImageSource(string path)
    {
        this.path = path;
        using var zip = ZipFile.OpenRead(path);
        using var stream = OpenArray(zip);
        shape = ReadHeader(stream);
    }

    public override string Description => $"npz {path} ({shape[0]} images of {shape[1]}x{shape[2]})";

    public override long Count => shape[0];

    public static bool HasImages(string path)
    {
        using var zip = ZipFile.OpenRead(path);
        return zip.GetEntry(ArrayEntry) is not null;
    }

    public override IEnumerable<Tensor> Batches(int batchSize, long limit)
    {
        long total = Take(shape[0], limit);
        long imageBytes = shape[1] * shape[2] * 3;
        using var zip = ZipFile.OpenRead(path);
        using var stream = OpenArray(zip);
        ReadHeader(stream);
        var buffer = new byte[batchSize * imageBytes];
        for (long begin = 0; begin < total; begin += batchSize)
        {
            int count = (int)Math.Min(batchSize, total - begin);
            var span = buffer.AsSpan(0, (int)(count * imageBytes));
            try
            {
                stream.ReadExactly(span);
            }
            catch (EndOfStreamException e)
            {
                throw new InvalidDataException($"{path}: arr_0 ends before image {begin + count} of {shape[0]}", e);
            }
            using var hwc = tensor(span.ToArray(), [count, shape[1], shape[2], 3], ScalarType.Byte);
            yield return PixelConversion.FromUint8Hwc(hwc);
        }
    }

    Stream OpenArray(ZipArchive zip) =>
        (zip.GetEntry(ArrayEntry) ?? throw new InvalidDataException(
            $"{path} has no 'arr_0' (found {string.Join(", ", zip.Entries.Select(e => e.FullName))}); expected images N x H x W x 3 uint8"))
        .Open();

    /// <summary>Reads the .npy header and checks it describes (N, H, W, 3) uint8 in C order; returns the shape.</summary>
    long[] ReadHeader(Stream stream)
    {
        var prefix = new byte[10];
        stream.ReadExactly(prefix);
        if (prefix[0] != 0x93 || Encoding.ASCII.GetString(prefix, 1, 5) != "NUMPY")
            throw new InvalidDataException($"{path}: arr_0 is not an .npy array");
        int headerLength;
        if (prefix[6] == 1) headerLength = BitConverter.ToUInt16(prefix, 8);
        else
        {
            var rest = new byte[2];
            stream.ReadExactly(rest);
            headerLength = (int)BitConverter.ToUInt32([prefix[8], prefix[9], rest[0], rest[1]]);
        }
        var header = new byte[headerLength];
        stream.ReadExactly(header);
        var text = Encoding.ASCII.GetString(header);
        var descr = DescrPattern().Match(text).Groups[1].Value;
        var dims = ShapePattern().Match(text).Groups[1].Value
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(long.Parse).ToArray();
        if (descr is not ("|u1" or "<u1") || text.Contains("'fortran_order': True") || dims.Length != 4 || dims[3] != 3)
            throw new InvalidDataException(
                $"{path}: arr_0 is ({string.Join(", ", dims)}) '{descr}'; expected images N x H x W x 3 uint8 in C order");
        return dims;
    }

    [GeneratedRegex(@"'descr':\s*'([^']+)'")]
    private static partial Regex DescrPattern();

    [GeneratedRegex(@"'shape':\s*\(([^)]*)\)")]
    private static partial Regex ShapePattern();
}
