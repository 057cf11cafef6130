using RaePipeline.VisionTransformers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RaePipeline.Encoders.SigLip2;

/// <summary>
/// HF <c>SiglipVisionTransformer</c> up to the final norm, with the keys under <c>vision_model.</c>
/// (<c>embeddings.patch_embedding</c>, <c>embeddings.position_embedding</c>, <c>encoder.layers.{i}</c>). No CLS token;
/// <c>post_layernorm</c> (used without affine by RAE) and the MAP <c>head</c> are not part of it.
/// </summary>
public sealed class SiglipVisionTransformer : nn.Module
{
    // Held outside fields of Module/Parameter type, which TorchSharp would register under the field names.
    sealed class Parts
    {
        public required Conv2d PatchEmbedding;
        public required Embedding PositionEmbedding;
        public required PreNormTransformerLayer[] Layers;
    }

    readonly Parts parts;

    public SiglipVisionTransformer(VisionTransformerArchitecture architecture) : base(nameof(SiglipVisionTransformer))
    {
        Architecture = architecture;
        var a = architecture;
        parts = new Parts
        {
            PatchEmbedding = nn.Conv2d(3, a.Width, a.PatchSize, stride: a.PatchSize),
            PositionEmbedding = nn.Embedding(a.StoredGrid * a.StoredGrid, a.Width),
            Layers = Enumerable.Range(0, a.Layers).Select(_ => new PreNormTransformerLayer(TransformerLayerNames.Siglip,
                a.Width, a.Heads, a.MlpWidth, a.LayerNormEps, a.Activation, a.QkvBias)).ToArray(),
        };
        ModulePaths.Add(this, "embeddings.patch_embedding", parts.PatchEmbedding);
        ModulePaths.Add(this, "embeddings.position_embedding", parts.PositionEmbedding);
        for (int i = 0; i < a.Layers; i++) ModulePaths.Add(this, $"encoder.layers.{i}", parts.Layers[i]);
    }

    public VisionTransformerArchitecture Architecture { get; }

    /// <summary>
    /// Position embeddings for an h×w patch grid: (1, h·w, C). The stored table as is when its grid is h×w, else
    /// resized bicubically without antialias (HF <c>interpolate_pos_encoding</c>).
    /// </summary>
    public Tensor PositionEmbeddings(long height, long width) =>
        ImageResize.PositionGrid(parts.PositionEmbedding.weight!.unsqueeze(0), height, width, antialias: false);

    // pixels: (B, 3, S, S) normalized -> (B, h·w, C) before the final norm
    public Tensor Forward(Tensor pixels)
    {
        using var scope = NewDisposeScope();
        var patches = PatchProjection.Apply(parts.PatchEmbedding, pixels, Architecture.PatchSize);  // (B, C, h, w)
        var x = patches.flatten(2).transpose(1, 2) + PositionEmbeddings(patches.shape[2], patches.shape[3]);
        foreach (var layer in parts.Layers) x = layer.forward(x);
        return x.MoveToOuterDisposeScope();
    }

    /// <summary>Seeded random weights for a model without a checkpoint.</summary>
    public void InitializeRandomly(Generator generator)
    {
        RandomInitialization.Apply(this, generator);
        RandomInitialization.Normal(parts.PositionEmbedding.weight!, generator);
    }
}
