namespace RaePipeline.DecoderTraining;

/// <summary>
/// Sizes of the frozen DINO (v1) ViT under the discriminator. The defaults are DINO ViT-S/8 at 224
/// (<c>dino_vit_small_patch8_224.pth</c>, recipe <c>S_8</c>); smaller sizes serve a randomly initialized network
/// for tests and CPU quickstarts.
/// </summary>
public sealed class DinoFeatureNetworkOptions
{
    public int EmbedDim { get; set; } = 384;
    public int Depth { get; set; } = 12;
    public int NumHeads { get; set; } = 6;
    public int PatchSize { get; set; } = 8;

    /// <summary>Side the [-1, 1] images are resized to (bilinear) before the patch embedding.</summary>
    public int InputSize { get; set; } = 224;

    public double MlpRatio { get; set; } = 4.0;

    /// <summary>Blocks whose outputs feed a head, besides the final block output (indices at or past depth are dropped).</summary>
    public int[] KeyDepths { get; set; } = [2, 5, 8, 11];

    public double NormEps { get; set; } = 1e-6;

    public IReadOnlyList<int> EffectiveKeyDepths => KeyDepths.Where(d => d >= 0 && d < Depth).Distinct().Order().ToList();

    public override string ToString() =>
        $"embed_dim {EmbedDim}, depth {Depth}, heads {NumHeads}, patch {PatchSize}, input {InputSize}, mlp_ratio {MlpRatio}, key depths [{string.Join(", ", EffectiveKeyDepths)}]";

    /// <summary>Problems with the sizes, as (option key, message).</summary>
    public IEnumerable<(string Key, string Message)> Problems()
    {
        if (EmbedDim <= 0 || NumHeads <= 0 || EmbedDim % NumHeads != 0)
            yield return ("embed_dim", $"embed_dim ({EmbedDim}) must be a positive multiple of num_heads ({NumHeads})");
        if (Depth <= 0) yield return ("depth", $"depth must be positive, got {Depth}");
        if (PatchSize <= 0 || InputSize <= 0 || InputSize % PatchSize != 0)
            yield return ("input_size", $"input_size ({InputSize}) must be a positive multiple of patch_size ({PatchSize})");
        if (MlpRatio <= 0) yield return ("mlp_ratio", $"mlp_ratio must be positive, got {MlpRatio}");
    }
}
