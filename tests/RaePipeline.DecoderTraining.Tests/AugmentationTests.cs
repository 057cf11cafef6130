using RaePipeline.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.DecoderTraining.Tests;

public class AugmentationTests
{
    [Fact]
    public void Noise_augmentation_draws_one_sigma_in_zero_to_tau_per_sample()
    {
        const double tau = 0.8;
        var augmentation = new NoiseAugmentation(tau);
        using var scope = NewDisposeScope();
        var latents = randn(16, 16, 16, 16, generator: new Generator(1));
        var noisy = augmentation.Apply(latents, new SampleRandomness(3, "test"), 0);
        noisy.shape.Should().Equal(latents.shape);
        // The added noise of each sample is N(0, sigma_b^2) over 4096 elements: its std estimates sigma_b within ~2 %.
        var sigmas = (noisy - latents).reshape(16, -1).std(1).data<float>().ToArray();
        sigmas.Should().OnlyContain(s => s >= 0 && s <= tau * 1.05);
        sigmas.Distinct().Count().Should().Be(16);
        (sigmas.Max() - sigmas.Min()).Should().BeGreaterThan((float)(0.3 * tau), "sigmas spread over [0, tau]: " + string.Join(", ", sigmas));
        // The same seed gives the same noise; tau 0 gives none.
        new NoiseAugmentation(tau).Apply(latents, new SampleRandomness(3, "test"), 0).SameValues(noisy).Should().BeTrue();
        new NoiseAugmentation(0).Apply(latents, new SampleRandomness(3, "test"), 0).SameValues(latents).Should().BeTrue();
    }

    [Fact]
    public void Noise_in_normalized_units_is_the_unit_noise_times_each_elements_scale()
    {
        using var scope = NewDisposeScope();
        var latents = randn(8, 4, 3, 3, generator: new Generator(1));
        var scale = tensor(new float[] { 0.01f, 1f, 10f, 100f }).view(4, 1, 1);
        var unit = new NoiseAugmentation(0.8).Apply(latents, new SampleRandomness(3, "test"), 0) - latents;
        var scaled = new NoiseAugmentation(0.8, scale).Apply(latents, new SampleRandomness(3, "test"), 0) - latents;
        // Same draws, each channel's noise multiplied by its scale: channel c's std ratio is scale[c].
        TensorAssert.Close(scaled, unit * scale, 1e-4, 1e-6, "scaled noise");
        var ratios = (scaled.transpose(0, 1).reshape(4, -1).std(1) / unit.transpose(0, 1).reshape(4, -1).std(1)).data<float>().ToArray();
        ratios.Should().Equal([0.01f, 1f, 10f, 100f], (a, b) => Math.Abs(a - b) <= 1e-3 * b);
    }

    [Fact]
    public void Translation_keeps_the_shape_shifts_whole_pixels_and_fills_zeros()
    {
        var augment = new DiffAugment(translation: true, color: false);
        using var scope = NewDisposeScope();
        const int size = 16;
        // Strictly positive images, so zeros in the output can only come from the fill.
        var images = rand([12, 3, size, size], generator: new Generator(2)) + 0.5;
        var shifted = augment.Apply(images, new SampleRandomness(5, "test"), 0);
        shifted.shape.Should().Equal(images.shape);
        int maxShift = (int)Math.Round(size * 0.125);
        var seenShifts = new HashSet<(int, int)>();
        for (int b = 0; b < 12; b++)
        {
            var found = FindShift(images[b], shifted[b], maxShift);
            found.Should().NotBeNull($"sample {b} must be the input shifted by at most {maxShift} pixels with zero fill");
            seenShifts.Add(found!.Value);
        }
        seenShifts.Count.Should().BeGreaterThan(3, "samples get their own shifts");
    }

    /// <summary>The (dy, dx) with output[y, x] = input[y + dy, x + dx] inside and 0 outside, if any.</summary>
    static (int, int)? FindShift(Tensor input, Tensor output, int maxShift)
    {
        long size = input.shape[1];
        for (int dy = -maxShift; dy <= maxShift; dy++)
        for (int dx = -maxShift; dx <= maxShift; dx++)
        {
            using var scope = NewDisposeScope();
            var expected = zeros_like(input);
            long y0 = Math.Max(0, -dy), y1 = Math.Min(size, size - dy), x0 = Math.Max(0, -dx), x1 = Math.Min(size, size - dx);
            expected[.., TensorIndex.Slice(y0, y1), TensorIndex.Slice(x0, x1)] =
                input[.., TensorIndex.Slice(y0 + dy, y1 + dy), TensorIndex.Slice(x0 + dx, x1 + dx)];
            if (output.SameValues(expected)) return (dy, dx);
        }
        return null;
    }

    [Fact]
    public void Colour_changes_stay_within_the_reference_ranges_and_cutout_zeroes_a_square()
    {
        using var scope = NewDisposeScope();
        var images = rand([8, 3, 8, 8], generator: new Generator(4)) * 2 - 1;
        var colour = new DiffAugment(translation: false, color: true).Apply(images, new SampleRandomness(1, "test"), 0);
        // Brightness alone shifts the image mean by at most 0.5; saturation and contrast keep their means.
        var meanShift = (colour.mean([1, 2, 3]) - images.mean([1, 2, 3])).abs();
        meanShift.max().item<float>().Should().BeLessThanOrEqualTo(0.5f + 1e-5f);
        colour.SameValues(images).Should().BeFalse();

        var cut = new DiffAugment(translation: false, color: false, cutout: 0.5).Apply(images.abs() + 0.1, new SampleRandomness(2, "test"), 0);
        var zerosPerSample = cut.eq(0).all(1).sum([1, 2]);  // pixels zero in every channel
        zerosPerSample.max().item<long>().Should().BeLessThanOrEqualTo(16);   // a 4x4 square at most (clipped at borders)
        zerosPerSample.min().item<long>().Should().BeGreaterThan(0);
    }

    [Fact]
    public void Augmentation_is_differentiable()
    {
        using var scope = NewDisposeScope();
        var images = (rand([2, 3, 8, 8], generator: new Generator(6)) * 2 - 1).requires_grad_();
        new DiffAugment().Apply(images, new SampleRandomness(3, "test"), 0).sum().backward();
        images.grad!.abs().sum().item<float>().Should().BeGreaterThan(0);
    }

    [Fact]
    public void A_batch_split_among_ranks_gets_the_same_noise_and_augmentation_as_the_whole_batch()
    {
        using var scope = NewDisposeScope();
        var latents = randn(8, 4, 3, 3, generator: new Generator(7));
        var images = rand([8, 3, 8, 8], generator: new Generator(8)) * 2 - 1;
        var noise = new NoiseAugmentation(0.5);
        var augment = new DiffAugment(translation: true, color: true, cutout: 0.25);
        var stream = new SampleRandomness(9, "test");
        // Samples 40..47 (batch 5 of 8) whole, and as two ranks' slices [0, 3) and [3, 8) with their first sample numbers.
        var wholeNoise = noise.Apply(latents, stream, 40);
        var splitNoise = cat([noise.Apply(latents.narrow(0, 0, 3), stream, 40), noise.Apply(latents.narrow(0, 3, 5), stream, 43)], 0);
        splitNoise.SameValues(wholeNoise).Should().BeTrue();
        var wholeAugment = augment.Apply(images, stream, 40);
        var splitAugment = cat([augment.Apply(images.narrow(0, 0, 3), stream, 40), augment.Apply(images.narrow(0, 3, 5), stream, 43)], 0);
        splitAugment.SameValues(wholeAugment).Should().BeTrue();
        augment.Apply(images, stream, 48).SameValues(wholeAugment).Should().BeFalse("other samples draw other augmentations");
    }
}
