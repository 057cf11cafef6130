using RaePipeline.Abstractions;
using RaePipeline.VisionTransformers;
using static TorchSharp.torch;

namespace RaePipeline.Encoders.SigLip2;

/// <summary>
/// RAE's <c>SigLIP2wNorm</c>: the frozen SigLIP vision tower of a SiglipModel checkpoint (text tower and MAP head
/// ignored); latents are all tokens after an affine-free final LayerNorm, (B, C, S/p, S/p).
/// </summary>
public sealed class SigLip2Encoder : FrozenVisionEncoder
{
    public SigLip2Encoder(SiglipVisionTransformer model, int inputSize, ImageNormalization normalization, Device device)
        : base(model, model.Architecture.Width, model.Architecture.PatchSize, inputSize, normalization,
            model.Architecture.LayerNormEps, prefixTokens: 0, device)
    {
        Model = model;
    }

    public SiglipVisionTransformer Model { get; }

    protected override Tensor ForwardTokens(Tensor pixelValues) => Model.Forward(pixelValues);

    public static SigLip2Encoder Create(ComponentContext context, SigLip2Options options)
    {
        var architecture = Architecture(context, options);
        int inputSize = VisionEncoderFactory.InputSize(options, architecture, SigLip2Registrar.Name);
        var normalization = VisionEncoderFactory.Normalization(context, options, ImageNormalization.Half);
        return VisionEncoderFactory.Build(context, SigLip2Registrar.Name, architecture,
            new SiglipVisionTransformer(architecture),
            (model, generator) => model.InitializeRandomly(generator),
            (model, weights) => CheckpointLoading.Load(model, weights, SigLip2Registrar.Name, "embeddings.patch_embedding.weight",
                ["vision_model.", ""],
                key => key.StartsWith("post_layernorm.", StringComparison.Ordinal) || key.StartsWith("head.", StringComparison.Ordinal)),
            model => new SigLip2Encoder(model, inputSize, normalization, context.Device));
    }

    public static ComponentDescription Describe(ComponentContext context, SigLip2Options options)
    {
        var architecture = Architecture(context, options);
        return VisionEncoderFactory.Describe(architecture, VisionEncoderFactory.InputSize(options, architecture, SigLip2Registrar.Name),
            context.WeightsPath == null, SigLip2Registrar.Name);
    }

    static VisionTransformerArchitecture Architecture(ComponentContext context, SigLip2Options options) =>
        VisionEncoderFactory.Config(context) is { } config
            ? SigLip2Architecture.FromConfig(config)
            : SigLip2Architecture.FromOptions(options);
}
