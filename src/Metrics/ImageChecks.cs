using static TorchSharp.torch;

namespace RaePipeline.Metrics;

/// <summary>Argument checks shared by the image-pair metrics.</summary>
static class ImageChecks
{
    public static void SameShape(Tensor prediction, Tensor target, string metric)
    {
        if (prediction.dim() != 4 || !prediction.shape.SequenceEqual(target.shape))
            throw new ArgumentException(
                $"{metric} needs two (B, C, H, W) batches of the same shape; found [{string.Join(", ", prediction.shape)}] and [{string.Join(", ", target.shape)}]");
    }
}
