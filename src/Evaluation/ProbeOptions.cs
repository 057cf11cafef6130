namespace RaePipeline.Evaluation;

/// <summary>The <c>probe:</c> block of <c>eval</c>: the linear probe of class-conditional samples (YAML keys in snake_case).</summary>
public sealed class ProbeOptions
{
    /// <summary>Run the probe when the samples carry labels (<c>arr_1</c>) and the pipeline has labelled <c>data</c>.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Share of each class's real images held out to measure the probe's ceiling.</summary>
    public double HeldOut { get; set; } = 0.2;

    /// <summary>L2 penalty on the weights (mean cross-entropy + l2/2 |W|², features standardized).</summary>
    public double L2 { get; set; } = 1e-3;

    /// <summary>At most this many real images (a seeded random subset) for the probe: its float64 design matrix is N x (D + 1).</summary>
    public int MaxImages { get; set; } = 20000;

    /// <summary>Cap on the L-BFGS iterations of the fit.</summary>
    public int MaxIterations { get; set; } = 500;
}
