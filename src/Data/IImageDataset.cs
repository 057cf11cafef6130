using static TorchSharp.torch;

namespace RaePipeline.Data;

/// <summary>A labelled image collection with random access; every image has the same square size.</summary>
public interface IImageDataset
{
    int Count { get; }

    /// <summary>Labels are 0..NumClasses-1.</summary>
    int NumClasses { get; }

    /// <summary>Side S of every image.</summary>
    int ImageSize { get; }

    /// <summary>
    /// What the data is, precisely enough that two datasets with equal identities give equal images
    /// (source, path, file list, size, seed); used to key caches.
    /// </summary>
    string Identity { get; }

    /// <summary>Image <paramref name="index"/>: (3, S, S) float32 in [0, 1] and its label. The caller owns the tensor.</summary>
    LabeledImage Get(int index);
}

/// <summary>An image (3, S, S) float32 in [0, 1] and its class label.</summary>
public readonly record struct LabeledImage(Tensor Image, int Label);
