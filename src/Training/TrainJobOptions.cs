namespace RaePipeline.Training;

/// <summary>
/// The <c>train:</c> job block: stage-2 training of the pipeline's denoiser on its encoder's latents. Defaults follow
/// the official recipe (AdamW 2e-4, betas 0.9/0.95, no weight decay, EMA 0.9995, clipping at norm 1, class dropout
/// 0.1, logit-normal(0, 1) times with the dimension-dependent shift).
/// </summary>
public sealed class TrainJobOptions
{
    /// <summary>Optimizer steps to reach (a resumed run continues up to this step).</summary>
    public long Steps { get; set; } = 1000;

    /// <summary>Images per optimizer step (split into <see cref="GradAccumulation"/> micro-batches).</summary>
    public int BatchSize { get; set; } = 32;

    /// <summary>Micro-batches per optimizer step; batch_size must be a multiple of it.</summary>
    public int GradAccumulation { get; set; } = 1;

    public LearningRateScheduleOptions Schedule { get; set; } = new();

    public double[] Betas { get; set; } = [0.9, 0.95];

    public double WeightDecay { get; set; }

    public double Eps { get; set; } = 1e-8;

    /// <summary>EMA decay per optimizer step.</summary>
    public double EmaDecay { get; set; } = 0.9995;

    /// <summary>Gradient clipping max norm; 0 = no clipping.</summary>
    public double ClipGrad { get; set; } = 1.0;

    /// <summary>Probability of replacing a label by the null label (classifier-free guidance training).</summary>
    public double ClassDropout { get; set; } = 0.1;

    /// <summary>Official <c>time_dist_type</c>: <c>uniform</c> or <c>logit-normal_&lt;mu&gt;_&lt;sigma&gt;</c>.</summary>
    public string TimeDistribution { get; set; } = "logit-normal_0_1";

    /// <summary>Latent dimension m of the shift sqrt(m / n); 0 = C h w of the denoiser's latent.</summary>
    public long ShiftDim { get; set; }

    /// <summary>Base n of the shift sqrt(m / n).</summary>
    public double ShiftBase { get; set; } = 4096;

    /// <summary><c>auto</c>: continue from the run folder's latest checkpoint when there is one; <c>none</c>: start
    /// fresh; or the path of a checkpoint folder.</summary>
    public string Resume { get; set; } = "auto";

    /// <summary>Write a checkpoint every this many steps (0: only at the end).</summary>
    public long CheckpointEvery { get; set; } = 1000;

    /// <summary>Checkpoints to keep (the newest); 0 keeps all.</summary>
    public int KeepCheckpoints { get; set; } = 3;

    /// <summary>Stop when a step's loss exceeds this many times the loss of predicting zero velocity on its batch: the run
    /// diverged (a fresh model starts near 1 times, and training goes below); 0 checks only for NaN and infinity.</summary>
    public double MaxLossRatio { get; set; } = 100;

    /// <summary>Log (console, run.log) and add a point to the <c>train/loss</c> curve every this many steps.</summary>
    public long LogEvery { get; set; } = 10;

    /// <summary>Write a sample grid every this many steps and at the end (0: never); needs a sampler and a decoder.</summary>
    public long SampleEvery { get; set; }

    /// <summary>Images in a sample grid (labels cycle through the classes).</summary>
    public int SampleCount { get; set; } = 16;

    /// <summary>Images per encoder call when filling the latent cache (0: the micro-batch size).</summary>
    public int EncodeBatchSize { get; set; }
}
