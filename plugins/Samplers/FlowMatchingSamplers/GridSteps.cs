using static TorchSharp.torch;

namespace RaePipeline.Samplers.FlowMatching;

/// <summary>
/// The float32 scalars of each step of a decreasing time grid, computed with float32 tensor operations in the
/// order torchdiffeq uses (it integrates in negated time; the expressions below are bit-identical to it):
/// Time[i] = t_i, Step[i] = dt = t_{i+1} - t_i (&lt; 0), End[i] = t_i + dt (torchdiffeq's heun2 stage time
/// -((-t_i) + (t_i - t_{i+1})), which can differ from t_{i+1} by one ulp), Half[i] = 0.5 dt,
/// Middle[i] = t_i + 0.5 dt (midpoint stage time), Third[i] = t_i + dt float32(1/3) and TwoThirds[i] =
/// t_i + dt float32(2/3) (rk4's 3/8-rule stage times). In negated time these are -((-t_i) + (-dt) c), the same
/// float32 values: IEEE negation commutes with rounding.
/// </summary>
public sealed class GridSteps
{
    /// <summary>torchdiffeq's <c>_one_third</c> and <c>_two_thirds</c> as the float32 scalars they become.</summary>
    public const float OneThird = 1.0f / 3.0f, TwoThirdsFactor = 2.0f / 3.0f;

    GridSteps(float[] points, float[] time, float[] step, float[] end, float[] half, float[] middle, float[] third,
        float[] twoThirds)
    {
        Points = points;
        Time = time;
        Step = step;
        End = end;
        Half = half;
        Middle = middle;
        Third = third;
        TwoThirds = twoThirds;
    }

    public float[] Points { get; }
    public float[] Time { get; }
    public float[] Step { get; }
    public float[] End { get; }
    public float[] Half { get; }
    public float[] Middle { get; }
    public float[] Third { get; }
    public float[] TwoThirds { get; }

    public int Count => Step.Length;

    /// <summary>grid: (N,) float32, N ≥ 2, strictly decreasing, within [0, 1].</summary>
    public static GridSteps Of(Tensor grid)
    {
        if (grid.dim() != 1 || grid.shape[0] < 2 || grid.dtype != ScalarType.Float32)
            throw new ArgumentException(
                $"a time grid must be a 1-D float32 tensor of at least 2 points, got {grid.dtype} [{string.Join(", ", grid.shape)}]",
                nameof(grid));
        using var scope = NewDisposeScope();
        var g = grid.detach().cpu();
        var n = g.shape[0];
        var t = g[..(int)(n - 1)];
        var dt = g[1..] - t;
        var half = dt * 0.5f;
        var points = g.data<float>().ToArray();
        for (var i = 0; i < points.Length; i++)
        {
            if (!(points[i] >= 0 && points[i] <= 1))
                throw new ArgumentException($"time grid point {i} is {points[i]}, outside [0, 1]", nameof(grid));
            if (i > 0 && !(points[i] < points[i - 1]))
                throw new ArgumentException(
                    $"a time grid must decrease strictly from noise (t = 1) toward data; point {i} is {points[i]} after {points[i - 1]}",
                    nameof(grid));
        }
        return new GridSteps(points, t.data<float>().ToArray(), dt.data<float>().ToArray(), (t + dt).data<float>().ToArray(),
            half.data<float>().ToArray(), (t + half).data<float>().ToArray(),
            (t + dt * OneThird).data<float>().ToArray(), (t + dt * TwoThirdsFactor).data<float>().ToArray());
    }
}
