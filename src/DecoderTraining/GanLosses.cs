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
    /// The gradients of both losses with respect to the decoder's last layer W, flattened: (2, numel W), row 0 of the
    /// reconstruction loss, row 1 of the GAN loss. Both losses keep their graphs for the backward pass that follows.
    /// A data-parallel run averages these over the ranks before <see cref="AdaptiveWeight"/>, as it does all gradients.
    /// </summary>
    public static Tensor LastLayerGradients(Tensor reconstructionLoss, Tensor ganLoss, Tensor lastLayer)
    {
        using var scope = NewDisposeScope();
        var reconstructionGrad = autograd.grad([reconstructionLoss], [lastLayer], retain_graph: true)[0];
        var ganGrad = autograd.grad([ganLoss], [lastLayer], retain_graph: true)[0];
        return stack([reconstructionGrad.reshape(-1), ganGrad.reshape(-1)]).detach().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// lambda = ||grad_W reconstruction|| / (||grad_W gan|| + 1e-6) from <see cref="LastLayerGradients"/> (2, n),
    /// clamped to [0, <paramref name="maxWeight"/>]; a scalar without a graph.
    /// </summary>
    public static Tensor AdaptiveWeight(Tensor lastLayerGradients, double maxWeight)
    {
        using var scope = NewDisposeScope();
        var weight = lastLayerGradients[0].norm() / (lastLayerGradients[1].norm() + 1e-6);
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
