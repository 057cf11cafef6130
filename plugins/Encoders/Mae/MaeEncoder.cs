using RaePipeline.Abstractions;
using RaePipeline.VisionTransformers;
using static TorchSharp.torch;

namespace RaePipeline.Encoders.Mae;

/// <summary>
/// RAE's <c>MAEwNorm</c>: the frozen ViT-MAE encoder of a ViTMAEForPreTraining checkpoint (pre-training decoder
/// ignored); latents are the patch tokens after an affine-free final LayerNorm (CLS dropped), (B, C, S/p, S/p).
/// </summary>
public sealed class MaeEncoder : FrozenVisionEncoder
{
    public MaeEncoder(ViTMaeModel model, int inputSize, ImageNormalization normalization, Device device)
        : base(model, model.Architecture.Width, model.Architecture.PatchSize, inputSize, normalization,
            model.Architecture.LayerNormEps, prefixTokens: 1, device)
    {
        Model = model;
    }

    public ViTMaeModel Model { get; }

    protected override Tensor ForwardTokens(Tensor pixelValues) => Model.Forward(pixelValues);

    public static MaeEncoder Create(ComponentContext context, MaeOptions options)
    {
        var architecture = Architecture(context, options);
        int inputSize = VisionEncoderFactory.InputSize(options, architecture, MaeRegistrar.Name);
        var normalization = VisionEncoderFactory.Normalization(context, options, ImageNormalization.ImageNet);
        return VisionEncoderFactory.Build(context, MaeRegistrar.Name, architecture,
            new ViTMaeModel(architecture),
            (model, generator) => model.InitializeRandomly(generator),
            (model, weights) => CheckpointLoading.Load(model, weights, MaeRegistrar.Name, "embeddings.cls_token",
                ["vit.", ""], key => key.StartsWith("layernorm.", StringComparison.Ordinal)),
            model => new MaeEncoder(model, inputSize, normalization, context.Device));
    }

    public static ComponentDescription Describe(ComponentContext context, MaeOptions options)
    {
        var architecture = Architecture(context, options);
        return VisionEncoderFactory.Describe(architecture, VisionEncoderFactory.InputSize(options, architecture, MaeRegistrar.Name),
            context.WeightsPath == null, MaeRegistrar.Name);
    }

    static VisionTransformerArchitecture Architecture(ComponentContext context, MaeOptions options) =>
        VisionEncoderFactory.Config(context) is { } config
            ? MaeArchitecture.FromConfig(config)
            : MaeArchitecture.FromOptions(options);
}
