using RaePipeline.VisionTransformers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RaePipeline.Encoders.DinoV2;

/// <summary>
/// HF <c>Dinov2WithRegistersModel</c> up to the final LayerNorm, with the checkpoint's keys
/// (<c>embeddings.*</c>, <c>encoder.layer.{i}.*</c>). The final <c>layernorm</c> and <c>embeddings.mask_token</c>
/// are not part of it: RAE uses the final norm without affine and never masks.
/// </summary>
public sealed class Dinov2WithRegistersModel : nn.Module
{
    // Held outside fields of Module/Parameter type, which TorchSharp would register under the field names.
    sealed class Parts
    {
        public required Parameter ClsToken, RegisterTokens, PositionEmbeddings;
        public required Conv2d PatchProjection;
        public required PreNormTransformerLayer[] Layers;
    }

    readonly Parts parts;

    public Dinov2WithRegistersModel(DinoV2Architecture architecture) : base(nameof(Dinov2WithRegistersModel))
    {
        var vit = architecture.Vit;
        Architecture = architecture;
        parts = new Parts
        {
            ClsToken = new Parameter(torch.zeros(1, 1, vit.Width)),
            RegisterTokens = new Parameter(torch.zeros(1, architecture.RegisterTokens, vit.Width)),
            PositionEmbeddings = new Parameter(torch.zeros(1, 1 + vit.StoredGrid * vit.StoredGrid, vit.Width)),
            PatchProjection = nn.Conv2d(3, vit.Width, vit.PatchSize, stride: vit.PatchSize),
            Layers = Enumerable.Range(0, vit.Layers).Select(_ => new PreNormTransformerLayer(TransformerLayerNames.Dinov2,
                vit.Width, vit.Heads, vit.MlpWidth, vit.LayerNormEps, vit.Activation, vit.QkvBias, architecture.LayerScaleInit)).ToArray(),
        };
        ModulePaths.Add(this, "embeddings.cls_token", parts.ClsToken);
        ModulePaths.Add(this, "embeddings.register_tokens", parts.RegisterTokens);
        ModulePaths.Add(this, "embeddings.position_embeddings", parts.PositionEmbeddings);
        ModulePaths.Add(this, "embeddings.patch_embeddings.projection", parts.PatchProjection);
        for (int i = 0; i < vit.Layers; i++) ModulePaths.Add(this, $"encoder.layer.{i}", parts.Layers[i]);
    }

    public DinoV2Architecture Architecture { get; }

    /// <summary>Tokens before the patches: CLS and the registers.</summary>
    public int PrefixTokens => 1 + Architecture.RegisterTokens;

    /// <summary>
    /// Position embeddings for an h×w patch grid: (1, 1 + h·w, C). The stored table is used as is when it already
    /// has h×w patches; otherwise its patch part is resized bicubically WITH antialias in float32 (HF
    /// <c>interpolate_pos_encoding</c>), the CLS row kept.
    /// </summary>
    public Tensor PositionEmbeddings(long height, long width)
    {
        using var scope = NewDisposeScope();
        var positionEmbeddings = parts.PositionEmbeddings;
        long stored = positionEmbeddings.shape[1] - 1;
        if (stored == height * width && height == width) return positionEmbeddings.alias().MoveToOuterDisposeScope();
        var cls = positionEmbeddings.narrow(1, 0, 1);
        var grid = ImageResize.PositionGrid(positionEmbeddings.narrow(1, 1, stored), height, width, antialias: true);
        return torch.cat([cls, grid], 1).MoveToOuterDisposeScope();
    }

    // pixels: (B, 3, S, S) normalized -> (B, 1 + R + h·w, C): [CLS, registers, patches], before the final norm
    public Tensor Forward(Tensor pixels)
    {
        using var scope = NewDisposeScope();
        long b = pixels.shape[0];
        var patches = PatchProjection.Apply(parts.PatchProjection, pixels, Architecture.Vit.PatchSize);  // (B, C, h, w)
        long h = patches.shape[2], w = patches.shape[3];
        var x = torch.cat([parts.ClsToken.expand(b, -1, -1), patches.flatten(2).transpose(1, 2)], 1);
        x = x + PositionEmbeddings(h, w);
        x = torch.cat([x.narrow(1, 0, 1), parts.RegisterTokens.expand(b, -1, -1), x.narrow(1, 1, h * w)], 1);
        foreach (var layer in parts.Layers) x = layer.forward(x);
        return x.MoveToOuterDisposeScope();
    }

    /// <summary>Seeded random weights for a model without a checkpoint.</summary>
    public void InitializeRandomly(Generator generator)
    {
        RandomInitialization.Apply(this, generator);
        RandomInitialization.Normal(parts.ClsToken, generator);
        RandomInitialization.Normal(parts.RegisterTokens, generator);
        RandomInitialization.Normal(parts.PositionEmbeddings, generator);
    }
}
