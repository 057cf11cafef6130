namespace RaePipeline.Metrics;

/// <summary>How an L-BFGS minimization ended: the minimizer and the iterations used.</summary>
public sealed record LbfgsResult(double[] Minimizer, double Value, int Iterations, bool Converged);

/// <summary>
/// Limited-memory BFGS (Nocedal and Wright, algorithms 7.4 and 7.5) for smooth functions of a vector of doubles:
/// the two-loop recursion over the last <see cref="History"/> curvature pairs, the initial scaling sᵀy / yᵀy, and a
/// backtracking line search with the Armijo condition from step 1 (1 / |∇f| on the first iteration). Pairs with
/// sᵀy ≤ 0 are skipped, so the direction stays a descent direction. The bookkeeping is plain arrays: the objective
/// (a TorchSharp computation for the probe) is the only heavy part. Converged means the largest gradient component
/// fell below <see cref="GradientTolerance"/>, the value stopped changing (relative change below
/// <see cref="ValueTolerance"/>) or no step along a descent direction lowers it any more (rounding level).
/// </summary>
public sealed class Lbfgs
{
    const double Armijo = 1e-4;
    const double SmallestStep = 1e-12;

    public int History { get; init; } = 10;
    public int MaxIterations { get; init; } = 300;
    public double GradientTolerance { get; init; } = 1e-6;
    public double ValueTolerance { get; init; } = 1e-12;

    /// <param name="objective">x -> (f(x), ∇f(x)), a new gradient array of the length of x.</param>
    /// <param name="start">Where to start; not modified.</param>
    public LbfgsResult Minimize(Func<double[], (double Value, double[] Gradient)> objective, double[] start)
    {
        var steps = new List<double[]>();
        var changes = new List<double[]>();
        var curvatures = new List<double>();
        var x = (double[])start.Clone();
        var (value, gradient) = Evaluate(objective, x);
        for (int iteration = 0; iteration < MaxIterations; iteration++)
        {
            if (gradient.Max(Math.Abs) <= GradientTolerance) return new LbfgsResult(x, value, iteration, true);
            var direction = Direction(gradient, steps, changes, curvatures);
            double slope = Dot(gradient, direction);
            if (slope >= 0)
            {
                steps.Clear();
                changes.Clear();
                curvatures.Clear();
                direction = gradient.Select(g => -g).ToArray();
                slope = -Dot(gradient, gradient);
            }
            double step = steps.Count == 0 ? Math.Min(1, 1 / Math.Sqrt(-slope)) : 1;
            double[] candidate;
            double candidateValue;
            double[] candidateGradient;
            while (true)
            {
                candidate = x.Select((xi, i) => xi + step * direction[i]).ToArray();
                (candidateValue, candidateGradient) = Evaluate(objective, candidate);
                if (candidateValue <= value + Armijo * step * slope || step < SmallestStep) break;
                step /= 2;
            }
            // No decrease even at the smallest step: rounding level, the minimum is reached as far as it can be.
            if (!(candidateValue <= value)) return new LbfgsResult(x, value, iteration, true);

            var s = candidate.Select((c, i) => c - x[i]).ToArray();
            var y = candidateGradient.Select((g, i) => g - gradient[i]).ToArray();
            double sy = Dot(s, y);
            if (sy > 1e-10 * Math.Sqrt(Dot(s, s) * Dot(y, y)))
            {
                steps.Add(s);
                changes.Add(y);
                curvatures.Add(1 / sy);
                if (steps.Count > History)
                {
                    steps.RemoveAt(0);
                    changes.RemoveAt(0);
                    curvatures.RemoveAt(0);
                }
            }
            bool stalled = Math.Abs(value - candidateValue) <= ValueTolerance * Math.Max(1, Math.Abs(value));
            (x, value, gradient) = (candidate, candidateValue, candidateGradient);
            if (stalled) return new LbfgsResult(x, value, iteration + 1, true);
        }
        return new LbfgsResult(x, value, MaxIterations, gradient.Max(Math.Abs) <= GradientTolerance);
    }

    static (double Value, double[] Gradient) Evaluate(Func<double[], (double Value, double[] Gradient)> objective, double[] x)
    {
        var (value, gradient) = objective(x);
        if (gradient.Length != x.Length)
            throw new ArgumentException($"L-BFGS: the objective's gradient has {gradient.Length} components for {x.Length} variables");
        if (!double.IsFinite(value) || !gradient.All(double.IsFinite))
            throw new ArithmeticException($"L-BFGS: the objective or its gradient is not finite (value {value})");
        return (value, gradient);
    }

    /// <summary>-H ∇f by the two-loop recursion over the stored pairs (s_i, y_i), oldest first.</summary>
    static double[] Direction(double[] gradient, List<double[]> steps, List<double[]> changes, List<double> curvatures)
    {
        var q = (double[])gradient.Clone();
        var alphas = new double[steps.Count];
        for (int i = steps.Count - 1; i >= 0; i--)
        {
            alphas[i] = curvatures[i] * Dot(steps[i], q);
            AddScaled(q, changes[i], -alphas[i]);
        }
        if (steps.Count > 0)
        {
            double gamma = Dot(steps[^1], changes[^1]) / Dot(changes[^1], changes[^1]);
            for (int j = 0; j < q.Length; j++) q[j] *= gamma;
        }
        for (int i = 0; i < steps.Count; i++)
            AddScaled(q, steps[i], alphas[i] - curvatures[i] * Dot(changes[i], q));
        for (int j = 0; j < q.Length; j++) q[j] = -q[j];
        return q;
    }

    static double Dot(double[] a, double[] b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++) sum += a[i] * b[i];
        return sum;
    }

    static void AddScaled(double[] target, double[] source, double factor)
    {
        for (int i = 0; i < target.Length; i++) target[i] += factor * source[i];
    }
}
