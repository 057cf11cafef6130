using RaePipeline.Abstractions;
using RaePipeline.VisionTransformers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RaePipeline.Backbones.DiffusionTransformers;

/// <summary>
/// LightningDiT velocity model (official <c>stage2.models.lightningDiT.LightningDiT</c>, same state-dict keys):
/// h = x_embedder(x) + pos_embed; c = t_embedder(t) + y_embedder(y) (no SiLU; each adaLN applies its own);
/// blocks with global adaLN from c and RoPE <c>feat_rope</c>; final layer conditioned on c; unpatchify.
/// </summary>
public sealed class LightningDiT : nn.Module<Tensor, Tensor, Tensor, Tensor>
{
    public DiffusionTransformerSpec Spec { get; }

    public readonly PatchEmbed x_embedder;
    public readonly GaussianFourierEmbedding t_embedder;
    public readonly LabelEmbedder y_embedder;
    public readonly Parameter? pos_embed;
    public readonly RotaryEmbedding2D? feat_rope;
    public readonly ModuleList<AdaLNBlock> blocks;
    public readonly FinalLayer final_layer;

    public LightningDiT(DiffusionTransformerSpec spec) : base(nameof(LightningDiT))
    {
        if (spec.Kind != DiffusionTransformerKind.LightningDiT)
            throw new ArgumentException($"LightningDiT built from a {spec.Kind} spec");
        spec.Validate();
        Spec = spec;
        var size = spec.Backbone;
        var flags = spec.Flags;
        x_embedder = new PatchEmbed(spec.InChannels, size.HiddenSize, spec.PatchSize);
        t_embedder = new GaussianFourierEmbedding(size.HiddenSize);
        y_embedder = new LabelEmbedder(spec.NumClasses, size.HiddenSize);
        if (flags.UsePosEmbed)
            pos_embed = nn.Parameter(SinCosPositionEmbedding.Create((int)size.HiddenSize, (int)spec.Grid, withClsRow: false), requires_grad: false);
        if (flags.UseRope)
            feat_rope = new RotaryEmbedding2D(size.HiddenSize / size.NumHeads, spec.Grid);
        blocks = nn.ModuleList(Enumerable.Range(0, size.Depth)
            .Select(_ => new AdaLNBlock(size.HiddenSize, size.NumHeads, spec.MlpRatio, flags)).ToArray());
        long outputs = (long)spec.InChannels * spec.PatchSize * spec.PatchSize * (flags.LearnSigma ? 2 : 1);
        final_layer = new FinalLayer(size.HiddenSize, outputs, flags.UseRmsNorm);
        RegisterComponents();
    }

    /// <summary>
    /// The official <c>initialize_weights</c>: xavier-uniform on every Linear (bias 0), patch embedding like a Linear,
    /// label table N(0, 0.02), time-MLP weights N(0, 0.02), adaLN and output layers zero; <c>t_embedder.W</c> ~ N(0, 1).
    /// </summary>
    public void InitializeWeights(Generator generator)
    {
        foreach (var linear in modules().OfType<Linear>())
            SeededInit.XavierUniform(linear.weight!, linear.bias, generator);
        SeededInit.XavierUniform(x_embedder.proj.weight!, x_embedder.proj.bias, generator);
        SeededInit.Normal(y_embedder.embedding_table.weight!, 0.02, generator);
        SeededInit.Normal(t_embedder.W, 1.0, generator);
        foreach (var linear in t_embedder.Linears) SeededInit.Normal(linear.weight!, 0.02, generator);
        foreach (var block in blocks) SeededInit.Zero(block.ModulationLinear);
        SeededInit.Zero(final_layer.ModulationLinear);
        SeededInit.Zero(final_layer.linear);
    }

    // x: (B, C, H, W), t: (B,) float32, y: (B,) int64 -> velocity (B, C, H, W)
    public override Tensor forward(Tensor x, Tensor t, Tensor y)
    {
        using var scope = NewDisposeScope();
        var h = ComputePrecision.Float32(x_embedder.forward(x));              // the residual stream stays float32
        if (pos_embed is not null) h = h + pos_embed;
        var c = t_embedder.forward(t) + y_embedder.forward(y);
        foreach (var block in blocks)
        {
            var next = block.forward(h, c, feat_rope);
            h.Dispose();
            h = next;
        }
        var tokens = final_layer.forward(h, c);
        long outChannels = Spec.InChannels * (Spec.Flags.LearnSigma ? 2 : 1);
        var v = Patches.Unpatchify(ComputePrecision.Float32(tokens), outChannels, Spec.PatchSize, Spec.Grid);
        if (Spec.Flags.LearnSigma) v = v.narrow(1, 0, Spec.InChannels).contiguous();
        return v.MoveToOuterDisposeScope();
    }
}
