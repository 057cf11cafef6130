using RaePipeline.Abstractions;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RaePipeline.VisionTransformers;

/// <summary>
/// A pre-LN ViT layer with separate query/key/value projections:
/// <c>h = h + s1 * Wo·Attn(LN1(h)); h = h + s2 * fc2(act(fc1(LN2(h))))</c> (s = LayerScale when the family has it).
/// Submodules are registered under <see cref="TransformerLayerNames"/>, so the state dict matches the family's
/// checkpoints (DINOv2, ViT-MAE, SigLIP) without key conversion. The residual stream stays float32; the projections,
/// the attention and the MLP compute in the scope's <see cref="ComputePrecision"/>.
/// </summary>
public sealed class PreNormTransformerLayer : nn.Module<Tensor, Tensor>
{
    // The parts live in a plain holder, not in fields of this class: TorchSharp registers a module's Module and
    // Parameter fields under their field names, which would add a second copy of every key.
    sealed class Parts
    {
        public required LayerNorm Norm1, Norm2;
        public required Linear Query, Key, Value, AttentionOutput, Fc1, Fc2;
        public LayerScale? LayerScale1, LayerScale2;
    }

    readonly Parts parts;
    readonly int heads;
    readonly FeedForwardActivation activation;

    public PreNormTransformerLayer(TransformerLayerNames names, int width, int heads, int mlpWidth,
        double layerNormEps, FeedForwardActivation activation, bool qkvBias = true, double? layerScaleInit = null)
        : base(nameof(PreNormTransformerLayer))
    {
        if (width % heads != 0)
            throw new ArgumentException($"width {width} is not divisible by {heads} attention heads");
        this.heads = heads;
        this.activation = activation;
        parts = new Parts
        {
            Norm1 = nn.LayerNorm(width, layerNormEps),
            Norm2 = nn.LayerNorm(width, layerNormEps),
            Query = nn.Linear(width, width, qkvBias),
            Key = nn.Linear(width, width, qkvBias),
            Value = nn.Linear(width, width, qkvBias),
            AttentionOutput = nn.Linear(width, width),
            Fc1 = nn.Linear(width, mlpWidth),
            Fc2 = nn.Linear(mlpWidth, width),
        };
        ModulePaths.Add(this, names.Norm1, parts.Norm1);
        ModulePaths.Add(this, names.Query, parts.Query);
        ModulePaths.Add(this, names.Key, parts.Key);
        ModulePaths.Add(this, names.Value, parts.Value);
        ModulePaths.Add(this, names.AttentionOutput, parts.AttentionOutput);
        ModulePaths.Add(this, names.Norm2, parts.Norm2);
        ModulePaths.Add(this, names.Fc1, parts.Fc1);
        ModulePaths.Add(this, names.Fc2, parts.Fc2);
        if (names.LayerScale1 != null || names.LayerScale2 != null)
        {
            if (names.LayerScale1 == null || names.LayerScale2 == null || layerScaleInit == null)
                throw new ArgumentException("a layer with LayerScale needs both names and an initial value");
            parts.LayerScale1 = new LayerScale(width, layerScaleInit.Value);
            parts.LayerScale2 = new LayerScale(width, layerScaleInit.Value);
            ModulePaths.Add(this, names.LayerScale1, parts.LayerScale1);
            ModulePaths.Add(this, names.LayerScale2, parts.LayerScale2);
        }
    }

    // x: (B, N, D) -> (B, N, D)
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var attended = Attention(parts.Norm1.forward(x));
        if (parts.LayerScale1 != null) attended = parts.LayerScale1.forward(attended);
        x = x + attended;
        var hidden = activation.Apply(ComputePrecision.Linear(parts.Fc1, parts.Norm2.forward(x)));
        var fed = ComputePrecision.Linear(parts.Fc2, hidden);
        if (parts.LayerScale2 != null) fed = parts.LayerScale2.forward(fed);
        return (x + fed).MoveToOuterDisposeScope();
    }

    // x: (B, N, D) -> softmax(q kᵀ / sqrt(d_head)) v, heads merged, output projection: (B, N, D)
    Tensor Attention(Tensor x)
    {
        long b = x.shape[0], n = x.shape[1], d = x.shape[2];
        x = ComputePrecision.Input(x);                                   // one cast for the three projections
        Tensor Heads(Linear projection) => ComputePrecision.Linear(projection, x).view(b, n, heads, d / heads).transpose(1, 2);
        var attended = nn.functional.scaled_dot_product_attention(Heads(parts.Query), Heads(parts.Key), Heads(parts.Value));
        return ComputePrecision.Linear(parts.AttentionOutput, attended.transpose(1, 2).reshape(b, n, d));
    }
}
