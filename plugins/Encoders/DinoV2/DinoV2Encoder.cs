using RaePipeline.Abstractions;
using RaePipeline.VisionTransformers;
using static TorchSharp.torch;

namespace RaePipeline.Encoders.DinoV2;

/// <summary>
/// RAE's <c>Dinov2withNorm</c>: frozen DINOv2 with registers; latents are the patch tokens after an affine-free
/// final LayerNorm (CLS and registers dropped), (B, C, S/p, S/p).
/// </summary>
public sealed class DinoV2Encoder : FrozenVisionEncoder
{
    readonly Dinov2WithRegistersModel model;

    public DinoV2Encoder(Dinov2WithRegistersModel model, int inputSize, ImageNormalization normalization, Device device)
        : base(model, model.Architecture.Vit.Width, model.Architecture.Vit.PatchSize, inputSize, normalization,
            model.Architecture.Vit.LayerNormEps, model.PrefixTokens, device)
    {
        this.model = model;
    }

    public Dinov2WithRegistersModel Model => model;

    protected override Tensor ForwardTokens(Tensor pixelValues) => model.Forward(pixelValues);

    public static DinoV2Encoder Create(ComponentContext context, DinoV2Options options)
    {
        var config = VisionEncoderFactory.Config(context);
        var architecture = config == null ? DinoV2Architecture.FromOptions(options) : DinoV2Architecture.FromConfig(config);
        int inputSize = VisionEncoderFactory.InputSize(options, architecture.Vit, DinoV2Registrar.Name);
        var normalization = VisionEncoderFactory.Normalization(context, options, ImageNormalization.ImageNet);
        return VisionEncoderFactory.Build(context, DinoV2Registrar.Name, architecture.Vit,
            new Dinov2WithRegistersModel(architecture),
            (model, generator) => model.InitializeRandomly(generator),
            (model, weights) => CheckpointLoading.Load(model, weights, DinoV2Registrar.Name, "embeddings.cls_token",
                ["", "dinov2."], key => key.StartsWith("layernorm.", StringComparison.Ordinal) || key == "embeddings.mask_token"),
            model => new DinoV2Encoder(model, inputSize, normalization, context.Device));
    }

    public static ComponentDescription Describe(ComponentContext context, DinoV2Options options)
    {
        var config = VisionEncoderFactory.Config(context);
        var architecture = config == null ? DinoV2Architecture.FromOptions(options) : DinoV2Architecture.FromConfig(config);
        return VisionEncoderFactory.Describe(architecture.Vit, VisionEncoderFactory.InputSize(options, architecture.Vit, DinoV2Registrar.Name),
            config == null, DinoV2Registrar.Name);
    }
}
