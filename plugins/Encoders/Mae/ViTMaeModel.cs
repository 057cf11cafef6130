using RaePipeline.VisionTransformers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RaePipeline.Encoders.Mae;

/// <summary>
/// HF <c>ViTMAEModel</c> (the <c>vit.</c> part of ViTMAEForPreTraining) with mask ratio 0, up to the final norm:
/// keys <c>embeddings.cls_token</c>, <c>embeddings.position_embeddings</c> (fixed sin-cos, stored),
/// <c>embeddings.patch_embeddings.projection</c>, <c>encoder.layer.{i}</c>. RAE passes noise = arange(N), so the
/// random masking keeps every token in raster order: no masking happens here.
/// </summary>
public sealed class ViTMaeModel : nn.Module
{
    // Held outside fields of Module/Parameter type, which TorchSharp would register under the field names.
    sealed class Parts
    {
        public required Parameter ClsToken, PositionEmbeddings;
        public required Conv2d PatchProjection;
        public required PreNormTransformerLayer[] Layers;
    }

    readonly Parts parts;

    public ViTMaeModel(VisionTransformerArchitecture architecture) : base(nameof(ViTMaeModel))
    {
        Architecture = architecture;
        var a = architecture;
        parts = new Parts
        {
            ClsToken = new Parameter(torch.zeros(1, 1, a.Width)),
            PositionEmbeddings = new Parameter(SinCosPositionEmbedding.Create(a.Width, a.StoredGrid, withClsRow: true), requires_grad: false),
            PatchProjection = nn.Conv2d(3, a.Width, a.PatchSize, stride: a.PatchSize),
            Layers = Enumerable.Range(0, a.Layers).Select(_ => new PreNormTransformerLayer(TransformerLayerNames.VitMae,
                a.Width, a.Heads, a.MlpWidth, a.LayerNormEps, a.Activation, a.QkvBias)).ToArray(),
        };
        ModulePaths.Add(this, "embeddings.cls_token", parts.ClsToken);
        ModulePaths.Add(this, "embeddings.position_embeddings", parts.PositionEmbeddings);
        ModulePaths.Add(this, "embeddings.patch_embeddings.projection", parts.PatchProjection);
        for (int i = 0; i < a.Layers; i++) ModulePaths.Add(this, $"encoder.layer.{i}", parts.Layers[i]);
    }

    public VisionTransformerArchitecture Architecture { get; }

    /// <summary>
    /// Position embeddings for an h×w patch grid: (1, 1 + h·w, C). The stored table as is when its grid is h×w, else
    /// its patch part resized bicubically WITHOUT antialias (HF <c>interpolate_pos_encoding</c>), the CLS row kept.
    /// </summary>
    public Tensor PositionEmbeddings(long height, long width)
    {
        using var scope = NewDisposeScope();
        var table = parts.PositionEmbeddings;
        long stored = table.shape[1] - 1;
        var grid = ImageResize.PositionGrid(table.narrow(1, 1, stored), height, width, antialias: false);
        return torch.cat([table.narrow(1, 0, 1), grid], 1).MoveToOuterDisposeScope();
    }

    // pixels: (B, 3, S, S) normalized -> (B, 1 + h·w, C): [CLS, patches], before the final norm
    public Tensor Forward(Tensor pixels)
    {
        using var scope = NewDisposeScope();
        long b = pixels.shape[0];
        var patches = PatchProjection.Apply(parts.PatchProjection, pixels, Architecture.PatchSize);  // (B, C, h, w)
        long h = patches.shape[2], w = patches.shape[3];
        var positions = PositionEmbeddings(h, w);
        var tokens = patches.flatten(2).transpose(1, 2) + positions.narrow(1, 1, h * w);
        var cls = (parts.ClsToken + positions.narrow(1, 0, 1)).expand(b, -1, -1);
        var x = torch.cat([cls, tokens], 1);
        foreach (var layer in parts.Layers) x = layer.forward(x);
        return x.MoveToOuterDisposeScope();
    }

    /// <summary>Seeded random weights for a model without a checkpoint (the position table stays sin-cos).</summary>
    public void InitializeRandomly(Generator generator)
    {
        RandomInitialization.Apply(this, generator);
        RandomInitialization.Normal(parts.ClsToken, generator);
    }
}
