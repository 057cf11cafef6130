using RaePipeline.Imaging;
using static TorchSharp.torch;

namespace RaePipeline.Evaluation;

/// <summary>Every image file under a folder (recursively), in ordinal order of their relative paths; all of one size.</summary>
public sealed class FolderImageSource : ImageSource
{
    readonly string folder;
    readonly string[] files;

    public FolderImageSource(string folder)
    {
        this.folder = folder;
        files = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Where(ImageFile.IsImage)
            .OrderBy(f => Path.GetRelativePath(folder, f), StringComparer.Ordinal)
            .ToArray();
        if (files.Length == 0)
            throw new InvalidDataException($"{folder} holds no image files ({string.Join(", ", ImageFile.Extensions)})");
    }

    public override string Description => $"folder {folder} ({files.Length} images)";

    public override long Count => files.Length;

    public override string Identity =>
        $"{Description}, {files.Sum(f => new FileInfo(f).Length)} bytes, last written {files.Max(File.GetLastWriteTimeUtc):O}";

    public override (Tensor Images, Tensor? Labels) Read(long start, long end, long limit)
    {
        var batchFiles = files[(int)start..(int)end];
        var images = new List<Tensor>(batchFiles.Length);
        try
        {
            foreach (var file in batchFiles)
            {
                var image = ImageFile.Read(file);
                if (images.Count > 0 && !image.shape.SequenceEqual(images[0].shape))
                {
                    var size = $"{image.shape[1]}x{image.shape[2]}";
                    image.Dispose();
                    throw new InvalidDataException(
                        $"{file} is {size} but {batchFiles[0]} is {images[0].shape[1]}x{images[0].shape[2]}: the images of a folder must share one size");
                }
                images.Add(image);
            }
            return (stack(images), null);
        }
        finally
        {
            foreach (var image in images) image.Dispose();
        }
    }
}
