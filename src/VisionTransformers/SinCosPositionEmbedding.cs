using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.VisionTransformers;

/// <summary>
/// The fixed 2-D sin-cos position table of MAE (and RAE's decoder): token (row i, col j) at index i·G + j gets
/// <c>[sin(j·ω_k), cos(j·ω_k)]_k ++ [sin(i·ω_k), cos(i·ω_k)]_k</c>, ω_k = 10000^(−k/(D/4)), k &lt; D/4. The column
/// index comes first (MAE's <c>meshgrid(grid_w, grid_h)</c> quirk). Computed in float64 like numpy, returned float32.
/// </summary>
public static class SinCosPositionEmbedding
{
    /// <summary>(1, [1 +] G², D) float32; with <paramref name="withClsRow"/> a zero row for the CLS token comes first.</summary>
    public static Tensor Create(int dimension, int gridSize, bool withClsRow)
    {
        if (dimension % 4 != 0)
            throw new ArgumentException($"2-D sin-cos position embedding needs a width divisible by 4, got {dimension}");
        using var scope = NewDisposeScope();
        int quarter = dimension / 4;
        var omega = 1.0 / torch.pow(10000.0, torch.arange(quarter, dtype: float64) / quarter);   // (D/4)
        var index = torch.arange(gridSize * gridSize, dtype: int64);
        var row = index.div(gridSize, RoundingMode.floor).to(float64);
        var column = (index % gridSize).to(float64);
        Tensor Axis(Tensor position)
        {
            var angles = position.unsqueeze(1) * omega.unsqueeze(0);    // (G², D/4)
            return torch.cat([angles.sin(), angles.cos()], 1);          // (G², D/2)
        }
        var table = torch.cat([Axis(column), Axis(row)], 1);            // (G², D)
        if (withClsRow) table = torch.cat([torch.zeros(1, dimension, dtype: float64), table], 0);
        return table.to(float32).unsqueeze(0).MoveToOuterDisposeScope();
    }
}
