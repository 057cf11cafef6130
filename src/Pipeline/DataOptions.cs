namespace RaePipeline.Pipeline;

/// <summary>The pipeline's <c>data:</c> block: where images (and labels) come from.</summary>
public sealed class DataOptions
{
    /// <summary><c>synthetic</c> (built in, no download), <c>folder</c> (one sub-folder per class), <c>npz</c> (arr_0 images, optional arr_1 labels), <c>idx</c> (MNIST-style IDX files), or empty for none.</summary>
    public string Source { get; set; } = "";

    /// <summary>Folder or file for <c>folder</c>, <c>npz</c> and <c>idx</c>, relative to the pipeline file.</summary>
    public string? Path { get; set; }

    /// <summary>For <c>idx</c> with <see cref="Path"/> an images file: the labels file (none: every label is 0).</summary>
    public string? Labels { get; set; }

    /// <summary>For <c>idx</c> with <see cref="Path"/> a folder: <c>train</c> or <c>test</c> (MNIST's t10k files).</summary>
    public string Split { get; set; } = "train";

    /// <summary>Side of the square images after the ADM center crop.</summary>
    public int ImageSize { get; set; } = 256;

    /// <summary>Random horizontal flip when training (stage 2 and statistics; stage-1 recipe has none).</summary>
    public bool RandomFlip { get; set; } = true;

    /// <summary>For <c>synthetic</c>: number of classes.</summary>
    public int NumClasses { get; set; } = 10;

    /// <summary>For <c>synthetic</c>: images per class.</summary>
    public int ImagesPerClass { get; set; } = 64;

    /// <summary>Use at most this many images (0 = all).</summary>
    public int Limit { get; set; }

    /// <summary>
    /// Batches loaded ahead on background threads (decoding, cropping, flipping; the same batches as without), 0 = off.
    /// Off by default: TorchSharp 0.107 frees a temporary Scalar (the 2 of <c>x * 2</c>) from its finalizer while the
    /// native call that uses it may still run, so the workers' torch calls are safe only where collections happen at
    /// the job thread's safe points and wait for the workers (<see cref="CollectionsAtSafePoints"/>, which <c>rae</c>
    /// enables; code hosting the jobs itself runs without it unless it enables it; README, "Known limits").
    /// </summary>
    public int Prefetch { get; set; }

    /// <summary>Folder where encoded latents are cached (encoded once, both flips) for stage-2 training; empty = no cache.</summary>
    public string? LatentCache { get; set; }

    public bool IsEmpty => string.IsNullOrEmpty(Source);
}
