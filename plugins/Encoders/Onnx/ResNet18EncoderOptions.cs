namespace RaePipeline.Encoders.Onnx;

/// <summary>Options of the <c>resnet18</c> encoder: which stage's feature map is the latent grid.</summary>
public sealed class ResNet18EncoderOptions
{
    /// <summary>1-4; stage 3 (256 x 14 x 14 at 224 px) by default.</summary>
    public int Stage { get; set; } = 3;
}
