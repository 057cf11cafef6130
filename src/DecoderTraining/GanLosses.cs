using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.DecoderTraining;

/// <summary>The stage-1 GAN objectives on discriminator logits of any shape.</summary>
public static class GanLosses
{
    /// <summary>Hinge loss of the discriminator: 0.5 * (mean relu(1 - D(real)) + mean relu(1 + D(fake))).</summary>
    public static Tensor HingeDiscriminator(Tensor logitsReal, Tensor logitsFake)
    {
        using var scope = NewDisposeScope();
        var real = nn.functional.relu(1.0 - logitsReal).mean();
        var fake = nn.functional.relu(1.0 + logitsFake).mean();
        return ((real + fake) * 0.5).MoveToOuterDisposeScope();
    }

    /// <summary>"Vanilla" generator loss of the reference: -mean D(fake).</summary>
    public static Tensor VanillaGenerator(Tensor logitsFake)
    {
        using var scope = NewDisposeScope();
        return logitsFake.mean().neg().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// lambda = ||grad_W reconstruction|| / (||grad_W gan|| + 1e-6), clamped to [0, <paramref name="maxWeight"/>] and
    /// detached; W is the decoder's last layer. Both losses keep their graphs for the backward pass that follows.
    /// </summary>
    public static Tensor AdaptiveWeight(Tensor reconstructionLoss, Tensor ganLoss, Tensor lastLayer, double maxWeight)
    {
        using var scope = NewDisposeScope();
        var reconstructionGrad = autograd.grad([reconstructionLoss], [lastLayer], retain_graph: true)[0];
        var ganGrad = autograd.grad([ganLoss], [lastLayer], retain_graph: true)[0];
        var weight = reconstructionGrad.norm() / (ganGrad.norm() + 1e-6);
        return weight.clamp(0.0, maxWeight).detach().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Fake images for the discriminator update, x: (B, 3, H, W) in about [-1, 1] -> clamped to [-1, 1] and quantized
    /// to 8 bit: round((x + 1) * 127.5) / 127.5 - 1.
    /// </summary>
    public static Tensor QuantizeTo8Bit(Tensor x)
    {
        using var scope = NewDisposeScope();
        return ((x.clamp(-1.0, 1.0) + 1.0) * 127.5).round().div(127.5).sub(1.0).MoveToOuterDisposeScope();
    }
}
