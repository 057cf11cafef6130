using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.DecoderTraining.Tests;

public class GanLossTests
{
    static readonly float[] Real = [2.0f, 0.5f, -0.3f, 1.0f, -2.5f, 0.9f];
    static readonly float[] Fake = [-1.5f, 0.2f, -0.8f, 3.0f, -0.99f, 0.0f];

    [Fact]
    public void Hinge_discriminator_loss_equals_its_formula()
    {
        double expected = 0.5 * (Real.Average(r => Math.Max(0, 1 - r)) + Fake.Average(f => Math.Max(0, 1 + f)));
        using var loss = GanLosses.HingeDiscriminator(tensor(Real).view(2, 3), tensor(Fake).view(2, 3));
        loss.item<float>().Should().BeApproximately((float)expected, 1e-6f);
    }

    [Fact]
    public void Vanilla_generator_loss_is_minus_the_mean_fake_logit()
    {
        using var loss = GanLosses.VanillaGenerator(tensor(Fake).view(3, 2));
        loss.item<float>().Should().BeApproximately((float)-Fake.Average(f => (double)f), 1e-6f);
    }

    [Fact]
    public void Adaptive_weight_is_the_ratio_of_gradient_norms_clamped_and_detached()
    {
        using var scope = NewDisposeScope();
        var w = (randn(4, 3, generator: new Generator(1))).requires_grad_();
        var x = randn(5, 3, generator: new Generator(2));
        var y = matmul(x, w.t());
        var reconstruction = y.abs().mean();
        var gan = (y * 3).sin().mean() * 0.01;

        // Independent computation: separate graphs, plain backward.
        double NormOfGradient(Func<Tensor, Tensor> loss)
        {
            var copy = w.detach().clone().requires_grad_();
            loss(matmul(x, copy.t())).backward();
            return copy.grad!.norm().item<float>();
        }
        double expected = NormOfGradient(o => o.abs().mean()) / (NormOfGradient(o => (o * 3).sin().mean() * 0.01) + 1e-6);

        var gradients = GanLosses.LastLayerGradients(reconstruction, gan, w);
        gradients.shape.Should().Equal(2, w.numel());
        var weight = GanLosses.AdaptiveWeight(gradients, 1e4);
        weight.requires_grad.Should().BeFalse();
        weight.item<float>().Should().BeApproximately((float)expected, (float)(1e-5 * expected));
        GanLosses.AdaptiveWeight(gradients, 0.5).item<float>().Should().Be(expected > 0.5 ? 0.5f : (float)expected);
        // Both graphs were kept: the total loss can still be back-propagated.
        (reconstruction + weight * gan).backward();
        w.grad.Should().NotBeNull();
    }

    [Fact]
    public void Fake_images_for_the_discriminator_are_clamped_and_on_the_8_bit_grid()
    {
        using var scope = NewDisposeScope();
        var x = randn(2, 3, 8, 8, generator: new Generator(3)) * 0.8;
        var q = GanLosses.QuantizeTo8Bit(x);
        q.min().item<float>().Should().BeGreaterThanOrEqualTo(-1f);
        q.max().item<float>().Should().BeLessThanOrEqualTo(1f);
        var levels = (q + 1) * 127.5;
        (levels - levels.round()).abs().max().item<float>().Should().BeLessThan(1e-3f);
        // Inside the range, quantization moves a value by at most half a level.
        var inside = x.abs() < 0.99;
        ((q - x).abs() * inside).max().item<float>().Should().BeLessThanOrEqualTo(0.5f / 127.5f + 1e-6f);
    }
}
