namespace RaePipeline.Samplers.FlowMatching;

/// <summary>
/// The variable-step Adams-Bashforth weights (Hairer, Norsett and Wanner, "Solving Ordinary Differential Equations I",
/// III.5): the step from t_i to t_{i+1} of order k integrates the polynomial of degree k - 1 through the derivatives
/// at the k newest nodes t_i, t_{i-1}, ..., t_{i-k+1}, so
/// x_{i+1} = x_i + sum_j c_j f_{i-j} with c_j = integral from t_i to t_{i+1} of the Lagrange basis
/// L_j(tau) = prod_{m != j} (tau - t_{i-m}) / (t_{i-j} - t_{i-m}).
/// These are k-diffusion's <c>linear_multistep_coeff</c> (there by numerical quadrature, here in closed form) and, on
/// an equally spaced grid, the classical weights (3/2, -1/2), (23, -16, 5)/12, (55, -59, 37, -9)/24 times the step.
/// Computed in float64 in the variable s = tau - t_i (nodes s_j = t_{i-j} - t_i), exactly up to rounding.
/// </summary>
public static class AdamsBashforthCoefficients
{
    /// <summary>
    /// The weights c_0..c_{k-1} (c_0 for the newest derivative) of the step from <paramref name="points"/>[i] to
    /// [i + 1] of order <paramref name="order"/> = k, 1 ≤ k ≤ i + 1. Order 1 is Euler: c_0 = t_{i+1} - t_i.
    /// </summary>
    public static double[] Of(IReadOnlyList<float> points, int i, int order)
    {
        if (order < 1 || order > i + 1)
            throw new ArgumentOutOfRangeException(nameof(order), order, $"step {i} can use orders 1 to {i + 1}");
        if (i + 1 >= points.Count)
            throw new ArgumentOutOfRangeException(nameof(i), i, $"a grid of {points.Count} points has steps 0 to {points.Count - 2}");
        double origin = points[i], step = points[i + 1] - origin;
        var nodes = new double[order];
        for (var j = 0; j < order; j++) nodes[j] = points[i - j] - origin;
        var weights = new double[order];
        for (var j = 0; j < order; j++)
        {
            // prod_{m != j} (s - s_m) as polynomial coefficients (lowest degree first), then its integral over [0, step].
            var polynomial = new double[order];
            polynomial[0] = 1;
            var degree = 0;
            var denominator = 1.0;
            for (var m = 0; m < order; m++)
            {
                if (m == j) continue;
                degree++;
                for (var p = degree; p >= 0; p--)
                    polynomial[p] = (p > 0 ? polynomial[p - 1] : 0) - nodes[m] * polynomial[p];
                denominator *= nodes[j] - nodes[m];
            }
            double integral = 0, power = step;
            for (var p = 0; p <= degree; p++, power *= step)
                integral += polynomial[p] * power / (p + 1);
            weights[j] = integral / denominator;
        }
        return weights;
    }
}
