using RaePipeline.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Training.Tests;

public class AdmCenterCropTests
{
    [Theory]
    [InlineData(300, 200, 64)]
    [InlineData(97, 131, 32)]
    [InlineData(32, 32, 32)]
    [InlineData(20, 50, 32)]
    public void Output_is_a_square_of_the_requested_size(int height, int width, int size)
    {
        using var image = torch.randint(0, 256, [height, width, 3], dtype: ScalarType.Byte);
        using var cropped = AdmCenterCrop.Apply(image, size);
        cropped.shape.Should().Equal(size, size, 3);
        cropped.dtype.Should().Be(ScalarType.Byte);
    }

    [Fact]
    public void Box_halving_rounds_each_pass_like_pil()
    {
        // 64x64 -> 16: two BOX halvings and no bicubic step (the short side already equals the target).
        // PIL averages pixel pairs horizontally, rounds to 8 bits ((a + b + 1) >> 1), then vertically the same way.
        using var generator = new torch.Generator(11, torch.CPU);
        using var image = torch.randint(0, 256, [64, 64, 3], dtype: ScalarType.Byte, generator: generator);
        var pixels = image.data<byte>().ToArray();
        int size = 64;
        for (int halving = 0; halving < 2; halving++)
        {
            int half = size / 2;
            var horizontal = new int[size * half * 3];
            for (int y = 0; y < size; y++)
                for (int x = 0; x < half; x++)
                    for (int c = 0; c < 3; c++)
                        horizontal[(y * half + x) * 3 + c] =
                            (pixels[(y * size + 2 * x) * 3 + c] + pixels[(y * size + 2 * x + 1) * 3 + c] + 1) >> 1;
            var next = new byte[half * half * 3];
            for (int y = 0; y < half; y++)
                for (int x = 0; x < half; x++)
                    for (int c = 0; c < 3; c++)
                        next[(y * half + x) * 3 + c] = (byte)((horizontal[(2 * y * half + x) * 3 + c] + horizontal[((2 * y + 1) * half + x) * 3 + c] + 1) >> 1);
            pixels = next;
            size = half;
        }
        using var cropped = AdmCenterCrop.Apply(image, 16);
        cropped.data<byte>().ToArray().Should().Equal(pixels);
    }

    [Fact]
    public void Bicubic_step_agrees_with_torch_antialiased_bicubic()
    {
        // 50x70 -> 40: no halving; PIL bicubic (a = -0.5, antialiased) to 40x56, then the central 40 columns.
        // torch's antialiased bicubic computes the same filter in floating point without PIL's 8-bit
        // intermediate rounding, so the two agree to about one grey level; values stay inside (0, 255) to avoid clipping.
        using var scope = NewDisposeScope();
        using var generator = new torch.Generator(5, torch.CPU);
        var image = torch.randint(40, 216, [50, 70, 3], dtype: ScalarType.Byte, generator: generator);
        var cropped = AdmCenterCrop.Apply(image, 40).to(float32);
        var reference = torch.nn.functional.interpolate(image.permute(2, 0, 1).unsqueeze(0).to(float32), [40, 56],
            mode: InterpolationMode.Bicubic, align_corners: false, antialias: true)[0].permute(1, 2, 0)[.., 8..48];
        var difference = (cropped - reference).abs();
        difference.max().item<float>().Should().BeLessThan(1.6f);
        difference.mean().item<float>().Should().BeLessThan(0.5f);
    }
}
