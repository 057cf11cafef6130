using RaePipeline.Data;
using RaePipeline.Imaging;
using RaePipeline.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Autoencoding;

/// <summary>
/// Images given on the command line: an image file, a folder of images (sorted by name), a safetensors file with
/// tensor <c>images</c> (N, 3, H, W) in [0, 1], or an npz with <c>arr_0</c> (N, H, W, 3) uint8. Files and folders
/// are brought to <c>size</c> x <c>size</c> with the ADM center crop.
/// </summary>
public static class ImageInputs
{
    /// <summary>(N, 3, S, S) float32 in [0, 1] and a name per image.</summary>
    public static (Tensor Images, IReadOnlyList<string> Names) Read(string path, int size, int limit = 0)
    {
        using var scope = NewDisposeScope();
        Tensor images;
        List<string> names;
        if (Directory.Exists(path))
        {
            var files = Directory.GetFiles(path).Where(ImageFile.IsImage).OrderBy(f => f, StringComparer.Ordinal).ToList();
            if (limit > 0) files = files.Take(limit).ToList();
            if (files.Count == 0) throw new FileNotFoundException($"{path}: no image files (png, jpg, ...) in this folder", path);
            images = torch.stack(files.Select(f => Cropped(f, size)).ToList());
            names = files.Select(Path.GetFileName).ToList()!;
        }
        else if (!File.Exists(path)) throw new FileNotFoundException($"input not found: {path}", path);
        else if (path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
        {
            var tensors = SafeTensorsFile.Read(path);
            if (!tensors.TryGetValue("images", out var stored) || stored.dim() != 4 || stored.shape[1] != 3)
                throw new WeightsFormatException($"{path}: expected a tensor 'images' (N, 3, H, W) in [0, 1]", path);
            images = stored.to(float32);
            names = Enumerable.Range(0, (int)images.shape[0]).Select(i => $"images[{i}]").ToList();
        }
        else if (path.EndsWith(".npz", StringComparison.OrdinalIgnoreCase))
        {
            var arrays = NpzFile.Read(path);
            if (!arrays.TryGetValue("arr_0", out var stored) || stored.dim() != 4 || stored.shape[3] != 3)
                throw new WeightsFormatException($"{path}: expected arr_0 (N, H, W, 3) uint8", path);
            images = PixelConversion.FromUint8Hwc(stored);
            names = Enumerable.Range(0, (int)images.shape[0]).Select(i => $"arr_0[{i}]").ToList();
        }
        else
        {
            images = Cropped(path, size).unsqueeze(0);
            names = [Path.GetFileName(path)];
        }
        if (limit > 0 && images.shape[0] > limit)
        {
            images = images[..limit];
            names = names.Take(limit).ToList();
        }
        return (images.contiguous().MoveToOuterDisposeScope(), names);
    }

    static Tensor Cropped(string file, int size)
    {
        using var scope = NewDisposeScope();
        var rgb = AdmCenterCrop.Apply(ImageFile.ReadRgb8(file), size);
        return rgb.permute(2, 0, 1).to(float32).div(255.0).MoveToOuterDisposeScope();
    }
}
