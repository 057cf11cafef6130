using RaePipeline.Distributed;

namespace RaePipeline.Evaluation;

/// <summary>Options of the <c>eval</c> job (YAML keys in snake_case).</summary>
public sealed class EvalOptions : ShardedJobOptions
{
    /// <summary>Images to score: a folder or an npz (<c>arr_0</c>); default <c>samples/samples.npz</c> in the run folder (the <c>sample</c> job's output). A relative path names a file of the run folder when one exists there, else one beside the pipeline file.</summary>
    public string? Samples { get; set; }

    /// <summary>What to compare with: <c>data</c> (the pipeline's data block), a folder of images, an npz of images (<c>arr_0</c>, may also hold <c>mu</c>/<c>sigma</c>) or an npz of statistics only.</summary>
    public string Reference { get; set; } = "";

    /// <summary>
    /// <c>auto</c> (the pipeline's <c>feature_extractor</c> when it names one, else its encoder), <c>feature_extractor</c>
    /// (FID with <c>inception-v3-fid</c>) or <c>encoder</c> (Fréchet distance in the encoder's mean-pooled token space).
    /// </summary>
    public string Features { get; set; } = "auto";

    public int BatchSize { get; set; } = 50;

    /// <summary>Use at most this many images of each set (0 = all).</summary>
    public long Limit { get; set; }

    /// <summary>Inception Score of the samples (when the feature extractor has a classifier).</summary>
    public bool InceptionScore { get; set; } = true;

    /// <summary>Rows per Inception Score split (the ADM evaluator uses 5000).</summary>
    public int IsSplitSize { get; set; } = Metrics.InceptionScore.DefaultSplitSize;

    /// <summary>Improved precision and recall (needs reference images, not only statistics).</summary>
    public bool PrecisionRecall { get; set; } = true;

    /// <summary>k of the k-nearest-neighbour manifolds of precision/recall.</summary>
    public int Neighbourhood { get; set; } = Metrics.PrecisionRecall.DefaultNeighbourhood;

    /// <summary>Random subsets KID averages over (torch-fidelity's and clean-fid's default 100).</summary>
    public int KidSubsets { get; set; } = Metrics.KernelInceptionDistance.DefaultSubsets;

    /// <summary>Rows per KID subset (default 1000), capped at the smaller set.</summary>
    public int KidSubsetSize { get; set; } = Metrics.KernelInceptionDistance.DefaultSubsetSize;

    /// <summary>
    /// The linear probe: a softmax classifier fitted on the real labelled images' features, applied to the samples
    /// (<c>{prefix}/probe/{features}/accuracy</c>, ceiling on held-out real images <c>.../ceiling</c>).
    /// </summary>
    public ProbeOptions Probe { get; set; } = new();

    /// <summary>Prefix of the recorded metric names (<c>eval/fid</c>, ...) and of the files written to the run folder.</summary>
    public string Prefix { get; set; } = "eval";
}
