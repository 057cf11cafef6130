using RaePipeline.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.DecoderTraining;

/// <summary>
/// Differentiable augmentation of the discriminator's inputs (real and fake alike), per sample:
/// translation by whole pixels in [-round(H/8), round(H/8)] (and likewise W) with zero fill; colour: brightness
/// + U(-0.5, 0.5), saturation (x - channel mean) * U(0, 2) + channel mean, contrast (x - image mean) * U(0.5, 1.5) +
/// image mean; cutout (off unless a ratio is given): a square of round(ratio * side) set to zero.
/// Sample n's draws come from its own stream (<see cref="SampleRandomness"/>), so they do not depend on the batch's
/// split among ranks.
/// </summary>
public sealed class DiffAugment
{
    const double TranslationRatio = 0.125;

    public DiffAugment(bool translation = true, bool color = true, double cutout = 0.0)
    {
        if (cutout < 0 || cutout >= 1) throw new ArgumentOutOfRangeException(nameof(cutout), cutout, "cutout ratio must be in [0, 1)");
        Translation = translation;
        Color = color;
        Cutout = cutout;
    }

    public bool Translation { get; }
    public bool Color { get; }
    public double Cutout { get; }

    public override string ToString() => $"DiffAugment(translation {Translation}, color {Color}, cutout {Cutout})";

    /// <summary>Uniform draws per sample: 2 for the translation, 3 for the colour, 2 for the cutout (those that are on).</summary>
    public int DrawsPerSample => (Translation ? 2 : 0) + (Color ? 3 : 0) + (Cutout > 0 ? 2 : 0);

    /// <summary>
    /// x: (B, C, H, W) -> augmented (B, C, H, W) float32, differentiable in x; row b augmented with the draws of sample
    /// <paramref name="firstSample"/> + b of <paramref name="randomness"/>.
    /// </summary>
    public Tensor Apply(Tensor x, SampleRandomness randomness, long firstSample)
    {
        using var scope = NewDisposeScope();
        var h = x.to(float32);
        if (DrawsPerSample == 0) return h.MoveToOuterDisposeScope();
        var uniform = randomness.Uniform(firstSample, (int)x.shape[0], DrawsPerSample).t().to(x.device); // (draws, B)
        int next = 0;
        Tensor Draw(int count)
        {
            next += count;
            return uniform.narrow(0, next - count, count);
        }
        if (Translation) h = Translate(h, Draw(2));
        if (Color) h = Recolor(h, Draw(3));
        if (Cutout > 0) h = CutOut(h, Draw(2));
        return h.MoveToOuterDisposeScope();
    }

    /// <summary>Shifts every sample by its own whole-pixel offset; pixels shifted in from outside are zero.</summary>
    static Tensor Translate(Tensor x, Tensor uniform)
    {
        long batch = x.shape[0], height = x.shape[2], width = x.shape[3];
        long maxH = (long)Math.Round(height * TranslationRatio, MidpointRounding.ToEven);
        long maxW = (long)Math.Round(width * TranslationRatio, MidpointRounding.ToEven);
        var shiftH = (uniform[0] * (2 * maxH + 1)).floor().to(int64) - maxH;   // (B) in [-maxH, maxH]
        var shiftW = (uniform[1] * (2 * maxW + 1)).floor().to(int64) - maxW;
        // Output pixel (i, j) reads input (i + shiftH, j + shiftW); indices are shifted by one into a zero border.
        var rows = (arange(height, device: x.device).view(1, -1) + shiftH.view(-1, 1) + 1).clamp(0, height + 1);  // (B, H)
        var columns = (arange(width, device: x.device).view(1, -1) + shiftW.view(-1, 1) + 1).clamp(0, width + 1); // (B, W)
        var padded = nn.functional.pad(x, [1, 1, 1, 1]);                                                          // (B, C, H+2, W+2)
        var batchIndex = arange(batch, device: x.device).view(-1, 1, 1);
        var gathered = padded.permute(0, 2, 3, 1)[
            TensorIndex.Tensor(batchIndex), TensorIndex.Tensor(rows.view(batch, height, 1)), TensorIndex.Tensor(columns.view(batch, 1, width))];
        return gathered.permute(0, 3, 1, 2).contiguous();
    }

    static Tensor Recolor(Tensor x, Tensor uniform)
    {
        var brightness = uniform[0].view(-1, 1, 1, 1) - 0.5;
        var saturation = uniform[1].view(-1, 1, 1, 1) * 2;
        var contrast = uniform[2].view(-1, 1, 1, 1) + 0.5;
        var h = x + brightness;
        var channelMean = h.mean([1], keepdim: true);
        h = (h - channelMean) * saturation + channelMean;
        var imageMean = h.mean([1, 2, 3], keepdim: true);
        return (h - imageMean) * contrast + imageMean;
    }

    Tensor CutOut(Tensor x, Tensor uniform)
    {
        long height = x.shape[2], width = x.shape[3];
        long sizeH = (long)Math.Round(height * Cutout, MidpointRounding.ToEven);
        long sizeW = (long)Math.Round(width * Cutout, MidpointRounding.ToEven);
        // Centre of the square per sample, then the rows/columns it covers (clamped to the image).
        var centreH = (uniform[0] * (height + (1 - sizeH % 2))).floor().to(int64).view(-1, 1);
        var centreW = (uniform[1] * (width + (1 - sizeW % 2))).floor().to(int64).view(-1, 1);
        var rows = arange(height, device: x.device).view(1, -1);
        var columns = arange(width, device: x.device).view(1, -1);
        var inRows = (rows >= centreH - sizeH / 2).logical_and(rows < centreH - sizeH / 2 + sizeH);       // (B, H)
        var inColumns = (columns >= centreW - sizeW / 2).logical_and(columns < centreW - sizeW / 2 + sizeW); // (B, W)
        var hole = inRows.unsqueeze(2).logical_and(inColumns.unsqueeze(1));                                   // (B, H, W)
        return x * hole.logical_not().to(x.dtype).unsqueeze(1);
    }
}
