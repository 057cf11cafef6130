using System.Globalization;
using System.Security.Cryptography;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Data;

/// <summary>
/// Grayscale images in IDX files (MNIST, Fashion-MNIST): an images file (N, H, W) and optionally a labels file (N)
/// (without it every image has label 0). Each image becomes RGB by repeating its channel and is brought to
/// <c>imageSize</c> with the ADM center crop, as the folder source does. Both files are read into memory whole.
/// </summary>
public sealed class IdxImageDataset : IImageDataset
{
    readonly IdxFile images;
    readonly byte[] labels;
    readonly int height, width;

    public IdxImageDataset(string imagesPath, string? labelsPath, int imageSize)
    {
        if (imageSize < 1) throw new ArgumentException($"image size must be positive, got {imageSize}");
        images = IdxFile.Read(imagesPath);
        if (images.Dimensions.Count != 3)
            throw new DatasetException(
                $"{imagesPath}: IDX images must be N x H x W, the file holds {string.Join(" x ", images.Dimensions)} (a labels file given as images?)", imagesPath);
        int count = images.Dimensions[0];
        (height, width) = (images.Dimensions[1], images.Dimensions[2]);
        if (count == 0 || height == 0 || width == 0)
            throw new DatasetException($"{imagesPath}: holds no images ({string.Join(" x ", images.Dimensions)})", imagesPath);
        if (labelsPath != null)
        {
            var file = IdxFile.Read(labelsPath);
            if (file.Dimensions.Count != 1)
                throw new DatasetException(
                    $"{labelsPath}: IDX labels must be one dimension N, the file holds {string.Join(" x ", file.Dimensions)} (an images file given as labels?)", labelsPath);
            if (file.Dimensions[0] != count)
                throw new DatasetException(
                    $"{labelsPath} holds {file.Dimensions[0]} labels, but {imagesPath} holds {count} images", labelsPath);
            labels = file.Data;
        }
        else
        {
            labels = new byte[count];
        }
        ImageSize = imageSize;
        NumClasses = labels.Max() + 1;
        Identity = string.Create(CultureInfo.InvariantCulture,
            $"idx {Path.GetFullPath(imagesPath)} labels={(labelsPath == null ? "none" : Path.GetFullPath(labelsPath))} images={count} classes={NumClasses} size={imageSize} sha256={Fingerprint(images.Data, labels)}");
    }

    public int Count => labels.Length;
    public int NumClasses { get; }
    public int ImageSize { get; }
    public string Identity { get; }

    public LabeledImage Get(int index)
    {
        if (index < 0 || index >= Count) throw new ArgumentOutOfRangeException(nameof(index), $"image {index} of {Count}");
        using var scope = NewDisposeScope();
        int pixels = height * width;
        var gray = torch.tensor(images.Data.AsSpan(index * pixels, pixels).ToArray(), [height, width, 1], ScalarType.Byte);
        var rgb = gray.expand(height, width, 3).contiguous();
        if (height != ImageSize || width != ImageSize) rgb = AdmCenterCrop.Apply(rgb, ImageSize);
        var image = rgb.permute(2, 0, 1).to(float32).div(255.0);
        return new LabeledImage(image.MoveToOuterDisposeScope(), labels[index]);
    }

    static string Fingerprint(byte[] images, byte[] labels)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(images);
        hash.AppendData(labels);
        return Convert.ToHexString(hash.GetHashAndReset())[..16];
    }
}
