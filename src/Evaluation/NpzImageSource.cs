using RaePipeline.Imaging;
using RaePipeline.Weights;
using static TorchSharp.torch;

namespace RaePipeline.Evaluation;

/// <summary>
/// <c>arr_0</c> of an ADM-style npz (N × H × W × 3 uint8, C order, as <c>sample_ddp.py</c> and the reference batches
/// store it), streamed from the archive batch by batch like the ADM evaluator's <c>StreamingNpzArrayReader</c>.
/// </summary>
public sealed class NpzImageSource : ImageSource
{
    const string ArrayName = "arr_0";
    readonly string path;
    readonly long[] shape;

    public NpzImageSource(string path)
    {
        this.path = path;
        using var archive = NpzArchive.Open(path);
        shape = CheckedShape(archive);
    }

    public override string Description => $"npz {path} ({shape[0]} images of {shape[1]}x{shape[2]})";

    public override long Count => shape[0];

    public static bool HasImages(string path)
    {
        using var archive = NpzArchive.Open(path);
        return archive.Contains(ArrayName);
    }

    public override IEnumerable<Tensor> Batches(int batchSize, long limit)
    {
        long total = Take(shape[0], limit);
        using var archive = NpzArchive.Open(path);
        CheckedShape(archive);
        using var rows = archive.OpenRows(ArrayName);
        for (long begin = 0; begin < total; begin += batchSize)
        {
            using var hwc = rows.Read(Math.Min(batchSize, total - begin));
            yield return PixelConversion.FromUint8Hwc(hwc);
        }
    }

    /// <summary>The shape of <c>arr_0</c>, which must be (N, H, W, 3) uint8 in C order.</summary>
    long[] CheckedShape(NpzArchive archive)
    {
        if (!archive.Contains(ArrayName))
            throw new WeightsFormatException(
                $"{path} has no '{ArrayName}' (found {string.Join(", ", archive.Names)}); expected images N x H x W x 3 uint8", path);
        var header = archive.Header(ArrayName);
        if (header.DType != ScalarType.Byte || header.FortranOrder || header.Shape.Length != 4 || header.Shape[3] != 3)
            throw new WeightsFormatException(
                $"{path}: {ArrayName} is ({string.Join(", ", header.Shape)}) '{header.Descr}'{(header.FortranOrder ? " in Fortran order" : "")}; " +
                "expected images N x H x W x 3 uint8 in C order", path);
        return header.Shape;
    }
}
