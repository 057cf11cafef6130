using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using RaePipeline.Imaging;
using static TorchSharp.torch;

namespace RaePipeline.Data;

/// <summary>
/// A folder with one sub-folder per class (torchvision <c>ImageFolder</c>): classes are the sub-folder names in
/// ordinal order, labels their positions; every image file (PNG, JPEG, BMP, WebP, GIF) below a class folder, in
/// ordinal order of relative path, is one sample. Images are ADM-center-cropped to <c>imageSize</c>.
/// </summary>
public sealed class ImageFolderDataset : IImageDataset
{
    readonly (string Path, int Label)[] samples;

    public ImageFolderDataset(string root, int imageSize)
    {
        if (!Directory.Exists(root))
            throw new DatasetException($"image folder not found: {root} (expected one sub-folder of images per class)", root);
        if (imageSize < 1) throw new ArgumentException($"image size must be positive, got {imageSize}");
        Root = root;
        ImageSize = imageSize;
        Classes = Directory.GetDirectories(root).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray()!;
        if (Classes.Count == 0)
        {
            var loose = Directory.GetFiles(root).Count(ImageFile.IsImage);
            throw new DatasetException(
                $"{root}: no class sub-folders (expected {root}/<class>/<image files>" +
                (loose > 0 ? $"; found {loose} images directly in the folder, move them into a class sub-folder)" : ")"), root);
        }
        var list = new List<(string, int)>();
        for (int label = 0; label < Classes.Count; label++)
        {
            var folder = Path.Combine(root, Classes[label]);
            var files = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
                .Where(ImageFile.IsImage).Order(StringComparer.Ordinal).ToList();
            if (files.Count == 0)
                throw new DatasetException(
                    $"{folder}: class folder '{Classes[label]}' holds no image files ({string.Join(", ", ImageFile.Extensions)})", folder);
            list.AddRange(files.Select(f => (f, label)));
        }
        samples = list.ToArray();
        Identity = ComputeIdentity();
    }

    public string Root { get; }
    public IReadOnlyList<string> Classes { get; }
    public int Count => samples.Length;
    public int NumClasses => Classes.Count;
    public int ImageSize { get; }
    public string Identity { get; }

    public LabeledImage Get(int index)
    {
        var (path, label) = samples[index];
        using var scope = NewDisposeScope();
        Tensor rgb;
        try
        {
            rgb = ImageFile.ReadRgb8(path);
        }
        catch (ImageFormatException e)
        {
            throw new DatasetException($"{e.Message} (image {index} of class '{Classes[label]}')", path, e);
        }
        catch (IOException e)
        {
            throw new DatasetException($"{path}: cannot read image {index} of class '{Classes[label]}': {e.Message}", path, e);
        }
        var image = AdmCenterCrop.Apply(rgb, ImageSize).permute(2, 0, 1).to(float32).div(255.0);
        return new LabeledImage(image.MoveToOuterDisposeScope(), label);
    }

    /// <summary>Root, size and every file's relative path, length and modification time, hashed.</summary>
    string ComputeIdentity()
    {
        var text = new StringBuilder();
        foreach (var (path, label) in samples)
        {
            var info = new FileInfo(path);
            text.Append(CultureInfo.InvariantCulture,
                $"{label}|{Path.GetRelativePath(Root, path)}|{info.Length}|{info.LastWriteTimeUtc.Ticks}\n");
        }
        var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..16];
        return string.Create(CultureInfo.InvariantCulture,
            $"folder {Path.GetFullPath(Root)} images={Count} classes={NumClasses} size={ImageSize} files={hash}");
    }
}
