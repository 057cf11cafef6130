using RaePipeline.Abstractions;
using RaePipeline.FlowMatching;
using RaePipeline.Samplers.FlowMatching;
using static TorchSharp.torch;

namespace RaePipeline.Samplers.Tests;

/// <summary>
/// The variable-step Adams-Bashforth weights on their own: a step of order k must integrate every polynomial of degree
/// below k exactly from its k newest nodes (which is what makes its local error O(h^{k+1})), on the uneven shifted
/// grid; on an even grid they are the classical weights. The sampler's global order on a real field is tested in
/// <see cref="AnalyticGaussianTests"/>.
/// </summary>
public class AdamsBashforthCoefficientTests
{
    static float[] ShiftedGrid(int points)
    {
        using var scope = NewDisposeScope();
        return ShiftedTimeGrid.Build(points, new TimeShift(2.0)).data<float>().ToArray();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void A_step_of_order_k_integrates_polynomials_of_degree_below_k_exactly(int order)
    {
        var points = ShiftedGrid(11);
        for (var i = order - 1; i + 1 < points.Length; i++)
        {
            var weights = AdamsBashforthCoefficients.Of(points, i, order);
            weights.Should().HaveCount(order);
            for (var degree = 0; degree < order; degree++)
            {
                // sum_j c_j t_{i-j}^d against the integral of tau^d from t_i to t_{i+1}.
                double quadrature = 0;
                for (var j = 0; j < order; j++) quadrature += weights[j] * Math.Pow(points[i - j], degree);
                var exact = (Math.Pow(points[i + 1], degree + 1) - Math.Pow(points[i], degree + 1)) / (degree + 1);
                quadrature.Should().BeApproximately(exact, 1e-12, $"order {order}, step {i}, degree {degree}");
            }
            if (order < 4)
            {
                // One degree higher is not integrated exactly (the step is of order k, not more) on this uneven grid.
                double quadrature = 0;
                for (var j = 0; j < order; j++) quadrature += weights[j] * Math.Pow(points[i - j], order);
                var exact = (Math.Pow(points[i + 1], order + 1) - Math.Pow(points[i], order + 1)) / (order + 1);
                Math.Abs(quadrature - exact).Should().BeGreaterThan(1e-9, $"order {order}, step {i}, degree {order}");
            }
        }
    }

    [Fact]
    public void On_an_even_grid_the_weights_are_the_classical_ones()
    {
        // t = 1, 0.75, 0.5, 0.25, 0 (exact in float32): step 3 from 0.25 to 0, h = -0.25.
        float[] points = [1f, 0.75f, 0.5f, 0.25f, 0f];
        double[][] classical = [[1], [3 / 2.0, -1 / 2.0], [23 / 12.0, -16 / 12.0, 5 / 12.0], [55 / 24.0, -59 / 24.0, 37 / 24.0, -9 / 24.0]];
        for (var order = 1; order <= 4; order++)
        {
            var weights = AdamsBashforthCoefficients.Of(points, 3, order);
            weights.Should().Equal(classical[order - 1].Select(c => c * -0.25), (a, b) => Math.Abs(a - b) < 1e-14, $"order {order}");
        }
    }

    [Fact]
    public void Orders_beyond_the_available_history_or_the_grid_are_refused()
    {
        var points = ShiftedGrid(5);
        var tooHigh = () => AdamsBashforthCoefficients.Of(points, 1, 3);
        tooHigh.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*step 1 can use orders 1 to 2*");
        var pastEnd = () => AdamsBashforthCoefficients.Of(points, 4, 1);
        pastEnd.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*steps 0 to 3*");
        var create = () => new AdamsBashforthOptions { MaxOrder = 5 }.Create();
        create.Should().Throw<ComponentConfigurationException>().Which.OptionKey.Should().Be("max_order");
    }

    /// <summary>max_order 1 is Euler, bit for bit (the same float32 step and operations).</summary>
    [Fact]
    public void Max_order_one_is_euler()
    {
        using var scope = NewDisposeScope();
        var settings = new TimeGridSettings(12, 2.0);
        var latent = new LatentShape(2, 3, 3);
        var noise = randn(latent.WithBatch(2), generator: new Generator(3));
        var labels = zeros([2], dtype: ScalarType.Int64);
        static Tensor Field(Tensor x, Tensor t, Tensor y) => -x * t.view(-1, 1, 1, 1) + 0.5 * t.view(-1, 1, 1, 1);
        var grid = settings.Build(latent);
        var euler = new EulerSampler(settings).Sample(Field, noise, labels, grid);
        var firstOrder = new AdamsBashforthSampler(settings, maxOrder: 1).Sample(Field, noise, labels, grid);
        firstOrder.SameValues(euler).Should().BeTrue();
        var thirdOrder = new AdamsBashforthSampler(settings).Sample(Field, noise, labels, grid);
        thirdOrder.SameValues(euler).Should().BeFalse("max_order 3 uses earlier velocities");
    }
}
