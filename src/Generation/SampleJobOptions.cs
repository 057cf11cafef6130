using RaePipeline.Distributed;

namespace RaePipeline.Generation;

/// <summary>Options of the <c>sample</c> job (<c>--merge</c> joins the shards' npz files, as <c>merge-samples</c>).</summary>
public sealed class SampleJobOptions : ShardedJobOptions
{
    /// <summary>Number of images (ignored when <see cref="Noise"/> gives the noise).</summary>
    public int NumImages { get; set; } = 16;

    public int BatchSize { get; set; } = 16;

    /// <summary><c>equal</c> (the same count per class, shuffled: the FID protocol) or <c>random</c>.</summary>
    public string LabelSampling { get; set; } = "equal";

    /// <summary>Explicit class labels, repeated over the images (overrides <see cref="LabelSampling"/>).</summary>
    public int[]? Classes { get; set; }

    /// <summary>Seed of noise and labels; default: the pipeline's seed.</summary>
    public long? Seed { get; set; }

    /// <summary>A safetensors file with tensor <c>noise</c> (N, C, h, w) (and optionally <c>labels</c> (N,)) to sample from.</summary>
    public string? Noise { get; set; }

    /// <summary>Folder in the run folder for the outputs.</summary>
    public string Output { get; set; } = "samples";

    /// <summary>Write every image as a PNG too (the npz always holds them).</summary>
    public bool WritePngs { get; set; } = true;

    /// <summary>Images shown in grid.png (the first ones of this shard).</summary>
    public int GridImages { get; set; } = 64;

    public int GridColumns { get; set; } = 8;

    /// <summary>Images per class in grid_by_class.png (one row per class, the first 32 classes); 0 = no such grid.</summary>
    public int ClassGridImages { get; set; } = 8;
}
