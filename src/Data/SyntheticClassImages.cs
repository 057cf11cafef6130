using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Data;

/// <summary>
/// A built-in class-conditional image set that needs no download and that a small model learns on a CPU in
/// minutes. Class c draws one of eight shapes (disc, square, ring, diamond, plus, horizontal stripes, vertical
/// stripes, checkerboard: <c>c mod 8</c>) in its own hue on a dark background tinted with the opposite hue. Hue
/// steps are 7/16 of the colour wheel, so 16 classes take 16 evenly spaced hues and two classes of the same shape
/// (c and c + 8) lie half the wheel apart; further groups of 16 are turned by fractions of the 1/16 gap (van der
/// Corput: 1/2, 1/4, 3/4, ...), so beyond 16 classes neighbouring hues come closer than the per-image jitter. Each image jitters the position, size, hue and brightness, from a
/// generator seeded by (seed, index), so the set is identical wherever it is built. Images are class-major:
/// image i has label <c>i / imagesPerClass</c>.
/// </summary>
public sealed class SyntheticClassImages : IImageDataset
{
    public const int ShapeCount = 8;

    readonly int imagesPerClass;
    readonly long seed;
    readonly Tensor rows; // (S, 1) in [-1, 1]
    readonly Tensor columns; // (1, S) in [-1, 1]

    /// <summary>The smallest image side the patterns are drawn at.</summary>
    public const int MinimumImageSize = 8;

    public SyntheticClassImages(int numClasses, int imagesPerClass, int imageSize, long seed)
    {
        if (numClasses < 1) throw new ArgumentException($"synthetic data needs at least 1 class, got {numClasses}");
        if (imagesPerClass < 1) throw new ArgumentException($"synthetic data needs at least 1 image per class, got {imagesPerClass}");
        if (imageSize < MinimumImageSize) throw new ArgumentException($"synthetic images must be at least {MinimumImageSize} pixels wide, got {imageSize}");
        NumClasses = numClasses;
        this.imagesPerClass = imagesPerClass;
        ImageSize = imageSize;
        this.seed = seed;
        var axis = torch.linspace(-1 + 1.0 / imageSize, 1 - 1.0 / imageSize, imageSize, dtype: float32);
        rows = axis.reshape(imageSize, 1).DetachFromDisposeScope();
        columns = axis.reshape(1, imageSize).DetachFromDisposeScope();
        axis.Dispose();
    }

    public int Count => NumClasses * imagesPerClass;
    public int NumClasses { get; }
    public int ImageSize { get; }

    public string Identity => string.Create(CultureInfo.InvariantCulture,
        $"synthetic v1 classes={NumClasses} per_class={imagesPerClass} size={ImageSize} seed={seed}");

    public LabeledImage Get(int index)
    {
        if (index < 0 || index >= Count) throw new ArgumentOutOfRangeException(nameof(index), $"image {index} of {Count}");
        int label = index / imagesPerClass;
        using var scope = NewDisposeScope();
        using var generator = new torch.Generator(SeedDerivation.Derive(seed, "synthetic-image", index), torch.CPU);
        var jitter = torch.rand(6, generator: generator, dtype: float64).data<double>().ToArray();
        double centerX = (jitter[0] - 0.5) * 0.6, centerY = (jitter[1] - 0.5) * 0.6;
        double radius = 0.35 + 0.25 * jitter[2];
        double hueJitter = (jitter[3] - 0.5) * 0.03;
        double brightness = 0.8 + 0.2 * jitter[4];
        double background = 0.1 + 0.15 * jitter[5];

        double hue = Fraction(label * 7.0 / 16 + VanDerCorput(label / 16) / 16 + hueJitter);
        var foreground = HsvToRgb(hue, 0.85, brightness);
        var backdrop = HsvToRgb(Fraction(hue + 0.5), 0.5, background);

        var dx = (columns - centerX) / radius; // (1, S) broadcast with (S, 1)
        var dy = (rows - centerY) / radius;
        double sharpness = ImageSize * radius / 2; // edges about one pixel wide
        var mask = Shape(label % ShapeCount, dx, dy, sharpness); // (S, S) in [0, 1]
        var front = torch.tensor(foreground.Select(v => (float)v).ToArray()).reshape(3, 1, 1);
        var back = torch.tensor(backdrop.Select(v => (float)v).ToArray()).reshape(3, 1, 1);
        var image = (back + (front - back) * mask.unsqueeze(0)).clamp(0, 1).to(float32);
        return new LabeledImage(image.MoveToOuterDisposeScope(), label);
    }

    static Tensor Shape(int shape, Tensor dx, Tensor dy, double sharpness)
    {
        var radial = (dx.square() + dy.square()).sqrt();
        var box = torch.maximum(dx.abs(), dy.abs());
        var inside = torch.sigmoid((1 - box) * sharpness);
        const double stripes = 3 * Math.PI;
        return shape switch
        {
            0 => torch.sigmoid((1 - radial) * sharpness),
            1 => inside,
            2 => torch.sigmoid((0.25 - (radial - 0.7).abs()) * sharpness),
            3 => torch.sigmoid((1 - (dx.abs() + dy.abs())) * sharpness),
            4 => torch.sigmoid((0.3 - torch.minimum(dx.abs(), dy.abs())) * sharpness) * inside,
            5 => torch.sigmoid((dy * stripes).sin() * sharpness) * inside,
            6 => torch.sigmoid((dx * stripes).sin() * sharpness) * inside,
            _ => torch.sigmoid(((dx * stripes).sin() * (dy * stripes).sin()) * sharpness) * inside,
        };
    }

    static double Fraction(double x) => x - Math.Floor(x);

    /// <summary>The base-2 radical inverse: 0, 1/2, 1/4, 3/4, 1/8, ...</summary>
    static double VanDerCorput(int n)
    {
        double result = 0, digit = 0.5;
        for (; n > 0; n >>= 1, digit /= 2)
            if ((n & 1) != 0) result += digit;
        return result;
    }

    static double[] HsvToRgb(double hue, double saturation, double value)
    {
        double h = hue * 6;
        int sector = (int)Math.Floor(h) % 6;
        double f = h - Math.Floor(h);
        double p = value * (1 - saturation), q = value * (1 - saturation * f), t = value * (1 - saturation * (1 - f));
        return sector switch
        {
            0 => [value, t, p],
            1 => [q, value, p],
            2 => [p, value, t],
            3 => [p, q, value],
            4 => [t, p, value],
            _ => [value, p, q],
        };
    }
}
