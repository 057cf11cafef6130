namespace RaePipeline.Encoders.Onnx;

/// <summary>Options of the <c>resnet18</c> encoder: which stage's feature map is the latent grid.</summary>
public sealed class ResNet18EncoderOptions
{
    /// <summary>1-4; stage 3 (256 x 14 x 14 at 224 px) by default.</summary>
    public int Stage { get; set; } = 3;

    /// <summary>
    /// Take the stage's last residual sum before its ReLU instead of the ReLU's output: the same map unclipped, dense
    /// and signed, without the point mass at 0 that a ReLU puts on every channel (ReLU of it is the default latent).
    /// </summary>
    public bool PreActivation { get; set; }

    /// <summary>
    /// Image side fed to the network (default 224, the export's): the maps scale with it (stage 4 is 4 x 4 at 128 px).
    /// The preprocessing graph's 224 x 224 mean image is subtracted at 224 and the result resized.
    /// </summary>
    public int? InputSize { get; set; }
}
