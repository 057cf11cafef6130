using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Data;

/// <summary>The two PIL resampling filters the ADM center crop uses.</summary>
public enum PilFilter
{
    /// <summary>Each output pixel averages the input pixels its footprint covers (2x2 mean when halving).</summary>
    Box,

    /// <summary>Cubic convolution with a = -0.5, support widened by the scale factor when downsampling (antialiased).</summary>
    Bicubic,
}

/// <summary>
/// <c>PIL.Image.resize</c> of an 8-bit RGB image, reproduced exactly: per axis PIL's coefficients
/// (<c>precompute_coeffs</c> in Resample.c: footprint center <c>(i + 0.5) * scale</c>, bounds rounded, weights
/// normalized to sum 1), converted to 22-bit fixed point; a horizontal pass then a vertical pass, each rounding and
/// clipping to 8 bits. The fixed-point sums are computed as float64 matrix products, which are exact here
/// (integer terms below 2^31, sums below 2^53).
/// </summary>
public static class PilResampling
{
    const int PrecisionBits = 32 - 8 - 2;

    /// <summary>rgb: (H, W, 3) uint8 -> (height, width, 3) uint8.</summary>
    public static Tensor Resize(Tensor rgb, int width, int height, PilFilter filter)
    {
        if (rgb.dim() != 3 || rgb.shape[2] != 3 || rgb.dtype != ScalarType.Byte)
            throw new ArgumentException($"expected an RGB image (H, W, 3) uint8, got [{string.Join(", ", rgb.shape)}] {rgb.dtype}");
        if (width < 1 || height < 1) throw new ArgumentException($"target size {width}x{height} must be positive");
        int inHeight = (int)rgb.shape[0], inWidth = (int)rgb.shape[1];
        using var scope = NewDisposeScope();
        var planes = rgb.permute(2, 0, 1).to(float64); // (3, H, W)
        if (width != inWidth)
        {
            var horizontal = FixedPointCoefficients(inWidth, width, filter); // (width, W)
            planes = Round(planes.matmul(horizontal.t()));
        }
        if (height != inHeight)
        {
            var vertical = FixedPointCoefficients(inHeight, height, filter); // (height, H)
            planes = Round(vertical.matmul(planes));
        }
        return planes.to(ScalarType.Byte).permute(1, 2, 0).contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>PIL's <c>clip8</c> of a fixed-point sum that started at half a unit: floor(sum / 2^22) clipped to [0, 255].</summary>
    static Tensor Round(Tensor sums) =>
        sums.add(1 << (PrecisionBits - 1)).div(1 << PrecisionBits).floor().clamp(0, 255);

    /// <summary>(outSize, inSize) integer-valued float64 weights, as PIL's <c>normalize_coeffs_8bpc</c> gives them.</summary>
    static Tensor FixedPointCoefficients(int inSize, int outSize, PilFilter filter)
    {
        var weights = Coefficients(inSize, outSize, filter);
        var fixedPoint = new double[weights.Length];
        for (int i = 0; i < weights.Length; i++)
        {
            double scaled = weights[i] * (1 << PrecisionBits);
            fixedPoint[i] = weights[i] < 0 ? Math.Truncate(-0.5 + scaled) : Math.Truncate(0.5 + scaled);
        }
        return torch.tensor(fixedPoint, [outSize, inSize], float64);
    }

    /// <summary>Row-major (outSize, inSize) real weights of PIL's <c>precompute_coeffs</c>.</summary>
    public static double[] Coefficients(int inSize, int outSize, PilFilter filter)
    {
        double support = filter == PilFilter.Box ? 0.5 : 2.0;
        double scale = (double)inSize / outSize;
        double filterScale = Math.Max(scale, 1.0);
        support *= filterScale;
        var weights = new double[outSize * inSize];
        for (int output = 0; output < outSize; output++)
        {
            double center = (output + 0.5) * scale;
            double inverse = 1.0 / filterScale;
            int first = Math.Max(0, (int)(center - support + 0.5));
            int last = Math.Min(inSize, (int)(center + support + 0.5));
            double total = 0;
            for (int x = first; x < last; x++)
            {
                double w = Kernel(filter, (x - center + 0.5) * inverse);
                weights[output * inSize + x] = w;
                total += w;
            }
            if (total != 0)
                for (int x = first; x < last; x++) weights[output * inSize + x] /= total;
        }
        return weights;
    }

    static double Kernel(PilFilter filter, double x)
    {
        if (filter == PilFilter.Box) return x > -0.5 && x <= 0.5 ? 1.0 : 0.0;
        const double a = -0.5;
        x = Math.Abs(x);
        if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
        if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
        return 0.0;
    }
}
