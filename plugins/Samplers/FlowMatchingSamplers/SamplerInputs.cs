using static TorchSharp.torch;

namespace RaePipeline.Samplers.FlowMatching;

static class SamplerInputs
{
    /// <summary>noise: (B, C, h, w) floating point; labels: (B,) integer.</summary>
    public static void Check(Tensor noise, Tensor labels)
    {
        if (noise.dim() != 4 || !noise.is_floating_point())
            throw new ArgumentException($"noise must be a (B, C, h, w) floating-point tensor, got {noise.dtype} [{string.Join(", ", noise.shape)}]");
        if (labels.dim() != 1 || labels.shape[0] != noise.shape[0])
            throw new ArgumentException(
                $"labels must be (B,) with B = {noise.shape[0]} (the noise batch), got [{string.Join(", ", labels.shape)}]");
    }
}
