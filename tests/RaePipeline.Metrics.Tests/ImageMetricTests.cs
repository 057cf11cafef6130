using RaePipeline.Metrics;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Metrics.Tests;

public class ImageMetricTests
{
    [Fact]
    public void Psnr_of_a_known_mse_is_minus_ten_log10_mse()
    {
        // Every pixel off by ±0.05: MSE = 0.0025, PSNR = 20·log10(1/0.05) ≈ 26.02 dB.
        using var target = full([2, 3, 8, 8], 0.5f);
        using var signs = randint(0, 2, [2, 3, 8, 8], generator: new Generator(1)).to(float32) * 2 - 1;
        using var prediction = target + 0.05f * signs;
        double expected = 20 * Math.Log10(1 / 0.05);

        using var perImage = Psnr.PerImage(prediction, target);
        perImage.shape.Should().Equal(2);
        perImage[0].item<double>().Should().BeApproximately(expected, 1e-4);
        Psnr.Mean(prediction, target).Should().BeApproximately(expected, 1e-4);
    }

    [Fact]
    public void Ssim_is_one_for_identical_images_and_smaller_for_noisy_ones()
    {
        var generator = new Generator(2);
        using var images = rand([2, 3, 32, 32], generator: generator);
        using var slightlyNoisy = (images + 0.02f * randn([2, 3, 32, 32], generator: generator)).clamp(0, 1);
        using var veryNoisy = (images + 0.2f * randn([2, 3, 32, 32], generator: generator)).clamp(0, 1);

        double identical = Ssim.Mean(images, images);
        double slight = Ssim.Mean(slightlyNoisy, images);
        double strong = Ssim.Mean(veryNoisy, images);

        identical.Should().BeApproximately(1.0, 1e-12);
        slight.Should().BeLessThan(0.999);
        strong.Should().BeLessThan(slight);
    }

    [Fact]
    public void Ssim_of_two_constant_images_is_the_luminance_term()
    {
        // Constant images have zero (co)variances, so SSIM = (2ab + c1) / (a² + b² + c1) with c1 = (0.01·1)².
        double a = 0.3, b = 0.6, c1 = 1e-4;
        using var x = full([1, 3, 16, 16], a, dtype: float64);
        using var y = full([1, 3, 16, 16], b, dtype: float64);
        Ssim.Mean(x, y).Should().BeApproximately((2 * a * b + c1) / (a * a + b * b + c1), 1e-12);
    }
}
