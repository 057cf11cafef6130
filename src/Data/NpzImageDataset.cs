using System.Globalization;
using System.Security.Cryptography;
using RaePipeline.Weights;
using static TorchSharp.torch;

namespace RaePipeline.Data;

/// <summary>
/// Images in a numpy archive as the ADM tools write them: <c>arr_0</c> (N, H, W, 3) uint8 and optional
/// <c>arr_1</c> (N,) integer labels (without it every image has label 0 and there is one class).
/// Images of another size than <c>imageSize</c> are ADM-center-cropped. The archive is read into memory whole.
/// </summary>
public sealed class NpzImageDataset : IImageDataset
{
    readonly Tensor images; // (N, H, W, 3) uint8
    readonly long[] labels;

    public NpzImageDataset(string path, int imageSize)
    {
        if (!File.Exists(path)) throw new DatasetException($"npz file not found: {path}", path);
        if (imageSize < 1) throw new ArgumentException($"image size must be positive, got {imageSize}");
        Dictionary<string, Tensor> arrays;
        try
        {
            arrays = NpzFile.Read(path);
        }
        catch (Exception e) when (e is WeightsFormatException or InvalidDataException or IOException)
        {
            throw new DatasetException($"{path}: not a readable npz archive: {e.Message}", path, e);
        }
        if (!arrays.TryGetValue("arr_0", out var data))
            throw new DatasetException(
                $"{path}: no 'arr_0' array (expected images N x H x W x 3 uint8; found {string.Join(", ", arrays.Keys)})", path);
        if (data.dim() != 4 || data.shape[3] != 3 || data.dtype != ScalarType.Byte)
            throw new DatasetException(
                $"{path}: 'arr_0' is [{string.Join(", ", data.shape)}] {data.dtype}, expected N x H x W x 3 uint8", path);
        if (data.shape[0] == 0) throw new DatasetException($"{path}: 'arr_0' holds no images", path);
        images = data;
        long count = data.shape[0];
        if (arrays.TryGetValue("arr_1", out var labelArray))
        {
            if (labelArray.dim() != 1 || labelArray.shape[0] != count || labelArray.is_floating_point() || labelArray.dtype == ScalarType.Bool)
                throw new DatasetException(
                    $"{path}: 'arr_1' is [{string.Join(", ", labelArray.shape)}] {labelArray.dtype}, expected {count} integer labels", path);
            labels = labelArray.to(int64).data<long>().ToArray();
            long minimum = labels.Min();
            if (minimum < 0) throw new DatasetException($"{path}: 'arr_1' holds a negative label ({minimum})", path);
        }
        else
        {
            labels = new long[count];
        }
        foreach (var (name, array) in arrays)
            if (name != "arr_0") array.Dispose();
        ImageSize = imageSize;
        NumClasses = (int)labels.Max() + 1;
        var fingerprint = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)))[..16];
        Identity = string.Create(CultureInfo.InvariantCulture,
            $"npz {Path.GetFullPath(path)} images={count} classes={NumClasses} size={imageSize} sha256={fingerprint}");
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
