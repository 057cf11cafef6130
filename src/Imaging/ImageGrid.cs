using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Imaging;

/// <summary>Tiles a batch of images into one picture, row by row.</summary>
public static class ImageGrid
{
    /// <summary>images: (B, 3, H, W) in [0, 1] -> (3, rows*(H+pad)+pad, columns*(W+pad)+pad), white padding.</summary>
    public static Tensor Tile(Tensor images, int columns, int padding = 2)
    {
        if (images.dim() != 4 || images.shape[1] != 3)
            throw new ArgumentException($"expected images (B, 3, H, W), got [{string.Join(", ", images.shape)}]");
        using var scope = NewDisposeScope();
        long count = images.shape[0], height = images.shape[2], width = images.shape[3];
        columns = (int)Math.Max(1, Math.Min(columns, count));
        long rows = (count + columns - 1) / columns;
        var grid = torch.ones(3, rows * (height + padding) + padding, columns * (width + padding) + padding);
        var source = images.detach().cpu().to(float32);
        for (long i = 0; i < count; i++)
        {
            long top = padding + i / columns * (height + padding);
            long left = padding + i % columns * (width + padding);
            grid[.., torch.TensorIndex.Slice(top, top + height), torch.TensorIndex.Slice(left, left + width)] = source[i];
        }
        return grid.MoveToOuterDisposeScope();
    }

    /// <summary>Writes a grid PNG of <paramref name="images"/> (B, 3, H, W) in [0, 1].</summary>
    public static void Save(string path, Tensor images, int columns, int padding = 2)
    {
        using var grid = Tile(images, columns, padding);
        ImageFile.WritePng(path, grid);
    }
}
