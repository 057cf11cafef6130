using RaePipeline.Weights;
using static TorchSharp.torch;

namespace RaePipeline.Evaluation;

/// <summary>
/// The class labels of an ADM-style sample npz: <c>arr_1</c>, one integer per image of <c>arr_0</c>, as the
/// <c>sample</c> job and ADM's class-conditional sampler store them.
/// </summary>
public static class NpzLabels
{
    public const string ArrayName = "arr_1";

    /// <summary>(N,) int64 labels of the npz at <paramref name="path"/>, or null when it is not an npz or has no <c>arr_1</c>.</summary>
    /// <param name="imageCount">The number of images in the file's <c>arr_0</c>; the labels must match it.</param>
    public static Tensor? Read(string path, long imageCount)
    {
        if (!File.Exists(path) || !path.EndsWith(".npz", StringComparison.OrdinalIgnoreCase)) return null;
        var arrays = NpzFile.Read(path, new HashSet<string> { ArrayName });
        if (!arrays.TryGetValue(ArrayName, out var labels)) return null;
        using (labels)
        {
            if (labels.dim() != 1 || labels.shape[0] != imageCount ||
                labels.dtype is not (ScalarType.Int64 or ScalarType.Int32 or ScalarType.Byte))
                throw new InvalidDataException(
                    $"{path}: '{ArrayName}' must hold one integer class label per image ({imageCount}); found [{string.Join(", ", labels.shape)}] {labels.dtype}");
            return labels.to(int64, copy: true);
        }
    }
}
