using RaePipeline.Metrics;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace RaePipeline.Metrics.Tests;

public class LinearProbeTests(ITestOutputHelper output)
{
    static readonly float[][] Colours = [[0.9f, 0.1f, 0.1f], [0.1f, 0.8f, 0.2f], [0.15f, 0.2f, 0.9f], [0.9f, 0.85f, 0.1f], [0.7f, 0.2f, 0.8f]];

    /// <summary>
    /// (N, 3, 16, 16) images, <paramref name="perClass"/> of each colour class, class-major: the class's colour plus
    /// per-pixel noise of ±0.2 and a grey square of random size, place and shade. Labels (N,).
    /// </summary>
    static (Tensor Images, Tensor Labels) ColouredImages(int perClass, int seed)
    {
        var generator = new Generator((ulong)seed);
        var images = new List<Tensor>();
        for (int c = 0; c < Colours.Length; c++)
            for (int i = 0; i < perClass; i++)
            {
                var image = tensor(Colours[c]).reshape(3, 1, 1) + (rand([3, 16, 16], generator: generator) - 0.5f) * 0.4f;
                var corner = randint(0, 10, [2], generator: generator).data<long>().ToArray();
                int side = (int)randint(3, 7, [1], generator: generator).item<long>();
                image[.., (int)corner[0]..((int)corner[0] + side), (int)corner[1]..((int)corner[1] + side)] = rand([1], generator: generator);
                images.Add(image.clamp(0, 1));
            }
        return (stack(images), arange(Colours.Length).repeat_interleave(perClass));
    }

    /// <summary>A fixed feature map of images: 4 x 4 average pooling, 48 numbers per image.</summary>
    static Tensor Features(Tensor images) => nn.functional.adaptive_avg_pool2d(images, [4, 4]).flatten(1);

    [Fact]
    public void Lbfgs_reaches_the_exact_minimizer_of_a_quadratic()
    {
        var generator = new Generator(2);
        using var m = randn(20, 20, generator: generator, dtype: float64);
        using var a = m.matmul(m.t()) + 0.1 * eye(20, dtype: float64);    // condition number in the thousands
        using var b = randn(20, generator: generator, dtype: float64);
        using var exact = linalg.solve(a, b);

        var result = new Lbfgs { MaxIterations = 500, GradientTolerance = 1e-10, ValueTolerance = 0 }.Minimize(x =>
        {
            using var scope = NewDisposeScope();
            var ax = a.matmul(tensor(x, dtype: float64));
            return (0.5 * ax.dot(tensor(x, dtype: float64)).item<double>() - b.dot(tensor(x, dtype: float64)).item<double>(),
                (ax - b).data<double>().ToArray());
        }, new double[20]);
        using var minimizer = tensor(result.Minimizer, dtype: float64);
        output.WriteLine($"{result.Iterations} iterations, converged {result.Converged}");

        result.Converged.Should().BeTrue();
        (minimizer - exact).abs().max().item<double>().Should().BeLessThan(1e-7 * exact.abs().max().item<double>());
    }

    [Fact]
    public void Probe_is_perfect_on_real_images_of_well_separated_classes()
    {
        var (real, realLabels) = ColouredImages(perClass: 40, seed: 1);
        var (samples, sampleLabels) = ColouredImages(perClass: 12, seed: 2);
        using var realFeatures = Features(real);
        using var sampleFeatures = Features(samples);

        var result = ProbeAccuracy.Compute(realFeatures, realLabels, sampleFeatures, sampleLabels, 0.25, 1e-3, new Lbfgs(), seed: 7);
        output.WriteLine(result.ToString());

        result.Ceiling.Should().Be(1.0);
        result.Accuracy.Should().Be(1.0);
        result.HeldOutCount.Should().Be(Colours.Length * 10, "a quarter of each class's 40 images is held out");
        result.FitCount.Should().Be(Colours.Length * 30);
        result.Chance.Should().Be(1.0 / Colours.Length);
        result.Converged.Should().BeTrue();

        using var wrong = (sampleLabels + 1).remainder(Colours.Length);
        ProbeAccuracy.Compute(realFeatures, realLabels, sampleFeatures, wrong, 0.25, 1e-3, new Lbfgs(), seed: 7)
            .Accuracy.Should().Be(0, "every sample is scored against another class's label");
    }

    [Fact]
    public void Probe_is_at_chance_when_labels_are_shuffled()
    {
        const int perClass = 120;
        var (real, realLabels) = ColouredImages(perClass, seed: 3);
        var (samples, sampleLabels) = ColouredImages(perClass, seed: 4);
        using var realFeatures = Features(real);
        using var sampleFeatures = Features(samples);
        var generator = new Generator(5);
        using var shuffledReal = realLabels[randperm(realLabels.shape[0], generator: generator)];
        using var shuffledSamples = sampleLabels[randperm(sampleLabels.shape[0], generator: generator)];

        // Real labels shuffled: nothing to learn, so the held-out images are classified at chance.
        var noSignal = ProbeAccuracy.Compute(realFeatures, shuffledReal, sampleFeatures, sampleLabels, 0.25, 1e-3, new Lbfgs(), seed: 7);
        // A generator that ignores its conditioning: sample labels independent of the images.
        var ignored = ProbeAccuracy.Compute(realFeatures, realLabels, sampleFeatures, shuffledSamples, 0.25, 1e-3, new Lbfgs(), seed: 7);

        // Each image is then right with probability 1/K independently of the others: a binomial count. Allow four
        // standard deviations of its share (a false alarm about once in 16,000 runs) around chance.
        double chance = 1.0 / Colours.Length;
        double heldOutTolerance = 4 * Math.Sqrt(chance * (1 - chance) / noSignal.HeldOutCount);
        double sampleTolerance = 4 * Math.Sqrt(chance * (1 - chance) / ignored.SampleCount);
        output.WriteLine($"shuffled real labels: {noSignal}; shuffled sample labels: {ignored}; tolerances {heldOutTolerance:F3}, {sampleTolerance:F3}");
        noSignal.Ceiling.Should().BeApproximately(chance, heldOutTolerance);
        ignored.Ceiling.Should().Be(1.0, "the probe itself still separates the classes");
        ignored.Accuracy.Should().BeApproximately(chance, sampleTolerance);
    }

    [Fact]
    public void Samples_of_a_class_no_real_image_has_are_refused_naming_it()
    {
        var (real, realLabels) = ColouredImages(perClass: 4, seed: 1);
        using var features = Features(real);
        using var labels = full(3, 9L);

        var act = () => ProbeAccuracy.Compute(features, realLabels, features[..3], labels, 0.25, 1e-3, new Lbfgs(), seed: 0);

        act.Should().Throw<ArgumentException>().WithMessage("*classes 9*real classes: 0, 1, 2, 3, 4*");
    }
}
