using RaePipeline.Imaging;
using RaePipeline.Weights;
using static TorchSharp.torch;

namespace RaePipeline.Evaluation;

/// <summary>
/// <c>arr_0</c> of an ADM-style npz (N × H × W × 3 uint8, C order, as <c>sample_ddp.py</c> and the reference batches
/// store it), read a range of rows at a time like the ADM evaluator's <c>StreamingNpzArrayReader</c>.
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

    public override string Identity => $"{Description}, {new FileInfo(path).Length} bytes written {File.GetLastWriteTimeUtc(path):O}";

    public static bool HasImages(string path)
    {
        using var archive = NpzArchive.Open(path);
        return archive.Contains(ArrayName);
    }

    public override (Tensor Images, Tensor? Labels) Read(long start, long end, long limit)
    {
        using var archive = NpzArchive.Open(path);
        CheckedShape(archive);
        using var hwc = archive.ReadRows(ArrayName, start, end - start);
        return (PixelConversion.FromUint8Hwc(hwc), null);
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
