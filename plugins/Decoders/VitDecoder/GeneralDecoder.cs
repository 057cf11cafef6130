using RaePipeline.Abstractions;
using RaePipeline.VisionTransformers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RaePipeline.Decoders.VitDecoder;

/// <summary>
/// RAE's <c>GeneralDecoder</c> (a ViT-MAE decoder): tokens (B, N, C) -> pixel-patch logits (B, N, P·P·3). Field names
/// are the official state-dict keys, so released <c>model.pt</c> files load without conversion. The projections and
/// layers compute in the scope's <see cref="ComputePrecision"/>; the logits are float32.
/// </summary>
public sealed class GeneralDecoder : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // names are the checkpoint keys
    readonly Linear decoder_embed;
    readonly Parameter decoder_pos_embed;
    readonly Parameter trainable_cls_token;
    readonly ModuleList<PreNormTransformerLayer> decoder_layers;
    readonly LayerNorm decoder_norm;
    readonly Linear decoder_pred;
#pragma warning restore IDE1006

    public GeneralDecoder(VitDecoderArchitecture architecture) : base(nameof(GeneralDecoder))
    {
        Architecture = architecture;
        int width = architecture.Width;
        decoder_embed = nn.Linear(architecture.Latent.Channels, width);
        // Fixed 2-D sin-cos table with a zero CLS row; stored in checkpoints, never trained.
        decoder_pos_embed = new Parameter(
            SinCosPositionEmbedding.Create(width, architecture.Latent.Height, withClsRow: true), requires_grad: false);
        trainable_cls_token = new Parameter(torch.zeros(1, 1, width));
        decoder_layers = new ModuleList<PreNormTransformerLayer>(Enumerable.Range(0, architecture.Layers)
            .Select(_ => new PreNormTransformerLayer(TransformerLayerNames.VitMae, width, architecture.Heads,
                architecture.MlpWidth, architecture.LayerNormEps, architecture.Activation))
            .ToArray());
        decoder_norm = nn.LayerNorm(width, architecture.LayerNormEps);
        decoder_pred = nn.Linear(width, architecture.PatchSize * architecture.PatchSize * 3);
        RegisterComponents();
    }

    public VitDecoderArchitecture Architecture { get; }

    // tokens: (B, N, C) raw latents -> logits (B, N, P·P·3), CLS dropped
    public override Tensor forward(Tensor tokens)
    {
        if (tokens.dim() != 3 || tokens.shape[1] != Architecture.Tokens || tokens.shape[2] != Architecture.Latent.Channels)
            throw new ArgumentException(
                $"decoder expects tokens (B, {Architecture.Tokens}, {Architecture.Latent.Channels}), got [{string.Join(", ", tokens.shape)}]");
        using var scope = NewDisposeScope();
        long b = tokens.shape[0];
        var x = ComputePrecision.Float32(ComputePrecision.Linear(decoder_embed, tokens));
        x = torch.cat([trainable_cls_token.expand(b, -1, -1), x], 1) + decoder_pos_embed;
        foreach (var layer in decoder_layers) x = layer.forward(x);
        x = ComputePrecision.Linear(decoder_pred, decoder_norm.forward(x));
        return ComputePrecision.Float32(x.narrow(1, 1, Architecture.Tokens)).MoveToOuterDisposeScope();
    }

    /// <summary>Seeded random weights for training from scratch (the position table stays sin-cos).</summary>
    public void InitializeRandomly(Generator generator)
    {
        RandomInitialization.Apply(this, generator);
        RandomInitialization.Normal(trainable_cls_token, generator);
    }
}
