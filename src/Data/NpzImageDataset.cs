using System.Globalization;
using System.Security.Cryptography;
using RaePipeline.Weights;
using static TorchSharp.torch;

namespace RaePipeline.Data;

/// <summary>
/// Images in a numpy archive as the ADM tools write them: <c>arr_0</c> (N, H, W, 3) uint8 and optional
/// <c>arr_1</c> (N,) integer labels (without it every image has label 0 and there is one class).
/// Images of another size than <c>imageSize</c> are ADM-center-cropped. <c>arr_0</c> is read into memory whole.
/// </summary>
public sealed class NpzImageDataset : IImageDataset
{
    readonly Tensor images; // (N, H, W, 3) uint8
    readonly long[] labels;

    public NpzImageDataset(string path, int imageSize)
    {
        if (!File.Exists(path)) throw new DatasetException($"npz file not found: {path}", path);
        if (imageSize < 1) throw new ArgumentException($"image size must be positive, got {imageSize}");
        try
        {
            using var archive = NpzArchive.Open(path);
            if (!archive.Contains("arr_0"))
                throw new DatasetException(
                    $"{path}: no 'arr_0' array (expected images N x H x W x 3 uint8; found {string.Join(", ", archive.Names)})", path);
            var header = archive.Header("arr_0");
            if (header.Shape.Length != 4 || header.Shape[3] != 3 || header.DType != ScalarType.Byte)
                throw new DatasetException(
                    $"{path}: 'arr_0' is [{string.Join(", ", header.Shape)}] '{header.Descr}', expected N x H x W x 3 uint8", path);
            if (header.Shape[0] == 0) throw new DatasetException($"{path}: 'arr_0' holds no images", path);
            long count = header.Shape[0];
            labels = archive.Contains("arr_1") ? ReadLabels(archive, path, count) : new long[count];
            images = archive.Read("arr_0");
        }
        catch (WeightsFormatException e)
        {
            throw new DatasetException($"{e.Message} (expected an npz archive of images)", path, e);
        }
        ImageSize = imageSize;
        NumClasses = (int)labels.Max() + 1;
        string fingerprint;
        using (var file = File.OpenRead(path)) fingerprint = Convert.ToHexString(SHA256.HashData(file))[..16];
        Identity = string.Create(CultureInfo.InvariantCulture,
            $"npz {Path.GetFullPath(path)} images={Count} classes={NumClasses} size={imageSize} sha256={fingerprint}");
    }

    static long[] ReadLabels(NpzArchive archive, string path, long count)
    {
        using var labelArray = archive.Read("arr_1");
        if (labelArray.dim() != 1 || labelArray.shape[0] != count || labelArray.is_floating_point() || labelArray.dtype == ScalarType.Bool)
            throw new DatasetException(
                $"{path}: 'arr_1' is [{string.Join(", ", labelArray.shape)}] {labelArray.dtype}, expected {count} integer labels", path);
        using var asLong = labelArray.to(int64);
        var labels = asLong.data<long>().ToArray();
        long minimum = labels.Min();
        if (minimum < 0) throw new DatasetException($"{path}: 'arr_1' holds a negative label ({minimum})", path);
        return labels;
    }

    public int Count => (int)images.shape[0];
    public int NumClasses { get; }
    public int ImageSize { get; }
    public string Identity { get; }

    public LabeledImage Get(int index)
    {
        using var scope = NewDisposeScope();
        var rgb = images[index];
        if (rgb.shape[0] != ImageSize || rgb.shape[1] != ImageSize) rgb = AdmCenterCrop.Apply(rgb, ImageSize);
        var image = rgb.permute(2, 0, 1).to(float32).div(255.0);
        return new LabeledImage(image.MoveToOuterDisposeScope(), (int)labels[index]);
    }
}
