namespace RaePipeline.DecoderTraining;

/// <summary>
/// Options of the <c>train-decoder</c> job (YAML keys in snake_case). Defaults follow the RAE stage-1 recipe
/// (configs/stage1/training/DINOv2-B_decXL.yaml) except the length, which a CPU run chooses.
/// The start points (<see cref="LpipsStart"/>, <see cref="GanStart"/>, <see cref="DiscUpdateStart"/>) and
/// <see cref="Warmup"/> are counted in <see cref="Unit"/>: <c>steps</c> or <c>epochs</c> (the recipe's unit).
/// </summary>
public sealed class TrainDecoderOptions
{
    /// <summary>Optimizer steps to train (used when <see cref="Epochs"/> is 0).</summary>
    public int Steps { get; set; } = 1000;

    /// <summary>Train this many passes over the data instead of <see cref="Steps"/> (the recipe: 16).</summary>
    public int Epochs { get; set; }

    public int BatchSize { get; set; } = 16;

    /// <summary><c>steps</c> or <c>epochs</c>: the unit of warmup and of the LPIPS / GAN / discriminator start points.</summary>
    public string Unit { get; set; } = "steps";

    // Optimization (decoder and discriminator alike): AdamW, linear warmup from 0, cosine to final_lr.
    public double Lr { get; set; } = 2e-4;
    public double FinalLr { get; set; } = 2e-5;
    public double[] Betas { get; set; } = [0.9, 0.95];
    public double WeightDecay { get; set; }
    public double AdamEps { get; set; } = 1e-8;
    public double Warmup { get; set; } = 50;
    public double EmaDecay { get; set; } = 0.9978;

    /// <summary>Latent noise augmentation: sigma = tau * U(0, 1) per sample (0 = off).</summary>
    public double NoiseTau { get; set; } = 0.8;

    /// <summary>
    /// <c>raw</c> (the recipe: N(0, sigma^2) on the raw latents) or <c>normalized</c> (the noise scaled by the latent
    /// statistics' sqrt(var + eps), so sigma counts in the units the diffusion model works in; needs statistics).
    /// </summary>
    public string NoiseSpace { get; set; } = NoiseSpaces.Raw;

    // LPIPS.
    /// <summary>Use the LPIPS loss; false trains without it (logged as a warning, since the recipe uses it).</summary>
    public bool Lpips { get; set; } = true;
    public double LpipsWeight { get; set; } = 1.0;
    public double LpipsStart { get; set; }

    /// <summary>torchvision VGG16 state dict (vgg16-397923af.pth or a safetensors copy).</summary>
    public string LpipsVgg { get; set; } = "models/lpips/vgg16-397923af.pth";

    /// <summary>LPIPS v0.1 linear heads (vgg.pth: lin0..lin4.model.1.weight).</summary>
    public string LpipsLinear { get; set; } = "models/lpips/vgg.pth";

    // GAN.
    /// <summary>Weight of the GAN term (recipe 0.75); 0 turns the discriminator off entirely.</summary>
    public double DiscWeight { get; set; } = 0.75;
    public double GanStart { get; set; } = 400;
    public double DiscUpdateStart { get; set; } = 300;
    public int DiscUpdates { get; set; } = 1;
    public double MaxDWeight { get; set; } = 1e4;

    /// <summary>Stop when a step's L1 exceeds this many times 0.5, the largest L1 of a mid-gray image: the decoder
    /// diverged; 0 checks only for NaN and infinity (every loss is checked for those).</summary>
    public double MaxLossRatio { get; set; } = 100;

    /// <summary>The decoder parameter the adaptive GAN weight balances gradients at (its last layer).</summary>
    public string LastLayer { get; set; } = "decoder_pred.weight";

    public DiscriminatorOptions Discriminator { get; set; } = new();

    public DiffAugmentOptions Augment { get; set; } = new();

    // Outputs.
    /// <summary>Record the loss curves every this many steps.</summary>
    public int LogEvery { get; set; } = 10;

    /// <summary>Write a reconstruction grid (originals | EMA reconstructions) every this many steps (0 = only at the end).</summary>
    public int GridEvery { get; set; } = 250;

    /// <summary>Images in a grid.</summary>
    public int GridImages { get; set; } = 8;

    /// <summary>Save a resumable checkpoint every this many steps (0 = only at the end).</summary>
    public int CheckpointEvery { get; set; } = 500;

    /// <summary>Checkpoints kept (the newest ones; 0 = all).</summary>
    public int KeepCheckpoints { get; set; } = 2;

    /// <summary><c>auto</c> (continue from the run folder's checkpoint if there is one), <c>none</c>, or a decoder checkpoint folder (<c>.../checkpoints/decoder/step-N</c>).</summary>
    public string Resume { get; set; } = "auto";

    /// <summary>Where the decoder with EMA weights is written after training (relative to the run folder).</summary>
    public string Output { get; set; } = "decoder/model.safetensors";
}

/// <summary>
/// The discriminator of <c>train-decoder</c>: a frozen DINO ViT (sizes under <c>features</c>, DINO ViT-S/8 by
/// default) looked through by trainable heads.
/// </summary>
public sealed class DiscriminatorOptions
{
    /// <summary>DINO ViT-S/8 weights (dino_vit_small_patch8_224.pth); ignored when <see cref="Random"/>.</summary>
    public string Weights { get; set; } = "models/discs/dino_vit_small_patch8_224.pth";

    /// <summary>Use a randomly initialized feature network of the <see cref="Features"/> sizes (tests, CPU quickstarts) instead of DINO weights.</summary>
    public bool Random { get; set; }

    /// <summary>Sizes of the frozen ViT the heads look through (they must match <see cref="Weights"/>).</summary>
    public DinoFeatureNetworkOptions Features { get; set; } = new();

    /// <summary>Kernel of the heads' residual convolution.</summary>
    public int KernelSize { get; set; } = 9;
}

/// <summary>DiffAugment policies for the discriminator's inputs.</summary>
public sealed class DiffAugmentOptions
{
    public bool Translation { get; set; } = true;
    public bool Color { get; set; } = true;

    /// <summary>Cutout square side as a fraction of the image (0 = off, the recipe).</summary>
    public double Cutout { get; set; }
}

/// <summary>Where <c>noise_tau</c> counts: on the raw latents or in the latent statistics' normalized units.</summary>
public static class NoiseSpaces
{
    public const string Raw = "raw";
    public const string Normalized = "normalized";
}
