using RaePipeline.Abstractions;
using RaePipeline.VisionTransformers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace RaePipeline.Backbones.DiffusionTransformers;

/// <summary>
/// DiT^DH velocity model (official <c>stage2.models.DDT.DiTwDDTHead</c>, same state-dict keys): a backbone of
/// <c>depth[0]</c> blocks on s = s_embedder(x) + pos_embed with global adaLN from c = silu(t_emb + y_emb), then
/// s = s_projector(silu(t_emb + s)), and a wide head of <c>depth[1]</c> blocks on x_embedder(x) (no position
/// embedding) with per-token adaLN from s; the final layer is modulated per token by s as well.
/// <c>blocks</c> holds the backbone blocks first, then the head blocks.
/// </summary>
public sealed class DiTwDDTHead : nn.Module<Tensor, Tensor, Tensor, Tensor>
{
    public DiffusionTransformerSpec Spec { get; }

    public readonly PatchEmbed x_embedder;
    public readonly PatchEmbed s_embedder;
    public readonly Linear? s_projector;
    public readonly GaussianFourierEmbedding t_embedder;
    public readonly LabelEmbedder y_embedder;
    public readonly Parameter? pos_embed;
    public readonly RotaryEmbedding2D? enc_feat_rope;
    public readonly RotaryEmbedding2D? dec_feat_rope;
    public readonly ModuleList<AdaLNBlock> blocks;
    public readonly FinalLayer final_layer;

    public DiTwDDTHead(DiffusionTransformerSpec spec) : base(nameof(DiTwDDTHead))
    {
        if (spec.Kind != DiffusionTransformerKind.DiTDH)
            throw new ArgumentException($"DiTwDDTHead built from a {spec.Kind} spec");
        spec.Validate();
        Spec = spec;
        var (backbone, head, flags) = (spec.Backbone, spec.Head!, spec.Flags);
        x_embedder = new PatchEmbed(spec.InChannels, head.HiddenSize, spec.PatchSize);
        s_embedder = new PatchEmbed(spec.InChannels, backbone.HiddenSize, spec.PatchSize);
        if (backbone.HiddenSize != head.HiddenSize)
            s_projector = nn.Linear(backbone.HiddenSize, head.HiddenSize, hasBias: true);
        t_embedder = new GaussianFourierEmbedding(backbone.HiddenSize);
        y_embedder = new LabelEmbedder(spec.NumClasses, backbone.HiddenSize);
        if (flags.UsePosEmbed)
            pos_embed = nn.Parameter(SinCosPositionEmbedding.Create((int)backbone.HiddenSize, (int)spec.Grid, withClsRow: false), requires_grad: false);
        if (flags.UseRope)
        {
            enc_feat_rope = new RotaryEmbedding2D(backbone.HiddenSize / backbone.NumHeads, spec.Grid);
            dec_feat_rope = new RotaryEmbedding2D(head.HiddenSize / head.NumHeads, spec.Grid);
        }
        blocks = nn.ModuleList(
            Enumerable.Range(0, backbone.Depth)
                .Select(_ => new AdaLNBlock(backbone.HiddenSize, backbone.NumHeads, spec.MlpRatio, flags))
                .Concat(Enumerable.Range(0, head.Depth)
                    .Select(_ => new AdaLNBlock(head.HiddenSize, head.NumHeads, spec.MlpRatio, flags)))
                .ToArray());
        final_layer = new FinalLayer(head.HiddenSize, (long)spec.InChannels * spec.PatchSize * spec.PatchSize, flags.UseRmsNorm);
        RegisterComponents();
    }

    /// <summary>
    /// The official <c>initialize_weights</c> (xavier_uniform_init = False): every Linear keeps PyTorch's default
    /// init, both patch embeddings xavier-uniform (bias 0), label table N(0, 0.02), pos_embed sin-cos, adaLN of every
    /// block zero, time-MLP weights N(0, 0.02), final adaLN and linear zero; <c>t_embedder.W</c> ~ N(0, 1).
    /// </summary>
    public void InitializeWeights(Generator generator)
    {
        foreach (var linear in modules().OfType<Linear>())
            SeededInit.PyTorchDefault(linear, generator);
        SeededInit.XavierUniform(x_embedder.proj.weight!, x_embedder.proj.bias, generator);
        SeededInit.XavierUniform(s_embedder.proj.weight!, s_embedder.proj.bias, generator);
        SeededInit.Normal(y_embedder.embedding_table.weight!, 0.02, generator);
        SeededInit.Normal(t_embedder.W, 1.0, generator);
        foreach (var block in blocks) SeededInit.Zero(block.ModulationLinear);
        foreach (var linear in t_embedder.Linears) SeededInit.Normal(linear.weight!, 0.02, generator);
        SeededInit.Zero(final_layer.ModulationLinear);
        SeededInit.Zero(final_layer.linear);
    }

    // x: (B, C, H, W), t: (B,) float32, y: (B,) int64 -> velocity (B, C, H, W)
    public override Tensor forward(Tensor x, Tensor t, Tensor y)
    {
        using var scope = NewDisposeScope();
        int backboneDepth = Spec.Backbone.Depth;
        var te = t_embedder.forward(t);                                        // (B, Db)
        var c = F.silu(te + y_embedder.forward(y));                            // (B, Db)
        var s = ComputePrecision.Float32(s_embedder.forward(x));               // (B, N, Db), residual streams stay float32
        if (pos_embed is not null) s = s + pos_embed;
        for (int i = 0; i < backboneDepth; i++)
            s = Advance(s, blocks[i].forward(s, c, enc_feat_rope));
        s = F.silu(te.unsqueeze(1) + s);
        if (s_projector is not null) s = ComputePrecision.Linear(s_projector, s); // (B, N, Dh)
        var h = ComputePrecision.Float32(x_embedder.forward(x));               // (B, N, Dh)
        for (int i = backboneDepth; i < blocks.Count; i++)
            h = Advance(h, blocks[i].forward(h, s, dec_feat_rope));
        var tokens = final_layer.forward(h, s);                                // (B, N, p·p·C)
        return Patches.Unpatchify(ComputePrecision.Float32(tokens), Spec.InChannels, Spec.PatchSize, Spec.Grid).MoveToOuterDisposeScope();
    }

    // frees the previous activation's handle as soon as the next one exists (autograd keeps what it needs)
    static Tensor Advance(Tensor previous, Tensor next)
    {
        previous.Dispose();
        return next;
    }
}
