using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Backbones.DiffusionTransformers;

/// <summary>
/// The fixed 2-D sin-cos position table (MAE / DiT <c>get_2d_sincos_pos_embed</c>) for a G×G grid, no class token:
/// token n = i·G + j gets [sin(j·ω), cos(j·ω)] ++ [sin(i·ω), cos(i·ω)], ω_k = 10000^(−k/(D/4)), computed in float64
/// and stored as float32. (The first half encodes the column, a quirk of meshgrid(w, h).)
/// </summary>
public static class SinCosPositionEmbedding
{
    // -> (1, G·G, D) float32
    public static Tensor Table(long dim, long grid)
    {
        if (dim % 4 != 0)
            throw new ArgumentException($"the 2-D sin-cos position embedding needs a width divisible by 4, got {dim}");
        long quarter = dim / 4;
        var values = new float[grid * grid * dim];
        for (long i = 0; i < grid; i++)
            for (long j = 0; j < grid; j++)
            {
                long offset = (i * grid + j) * dim;
                for (long k = 0; k < quarter; k++)
                {
                    double omega = 1.0 / Math.Pow(10000.0, (double)k / quarter);
                    values[offset + k] = (float)Math.Sin(j * omega);
                    values[offset + quarter + k] = (float)Math.Cos(j * omega);
                    values[offset + 2 * quarter + k] = (float)Math.Sin(i * omega);
                    values[offset + 3 * quarter + k] = (float)Math.Cos(i * omega);
                }
            }
        return torch.tensor(values, [1, grid * grid, dim]);
    }
}
