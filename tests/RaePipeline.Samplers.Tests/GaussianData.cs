using static TorchSharp.torch;

namespace RaePipeline.Samplers.Tests;

/// <summary>
/// Data z ~ N(m_c, s_c^2) independently per element (m, s per channel c) under x_t = (1 - t) z + t eps.
/// With a = 1 - t and var_t = a^2 s^2 + t^2: x_t ~ N(a m, var_t), Cov(z, x_t) = a s^2, Cov(eps, x_t) = t, so
/// E[z | x_t] = m + a s^2 (x_t - a m) / var_t and E[eps | x_t] = t (x_t - a m) / var_t, and the exact velocity is
/// v(x, t) = E[eps - z | x_t] = lambda_t (x - a m) - m with lambda_t = (t - a s^2) / var_t = d log sqrt(var_t) / dt.
/// The ODE flow is therefore affine: x_t - a m = sqrt(var_t) eps for x_1 = eps, and the score is -(x - a m) / var_t.
/// Computed in float64.
/// </summary>
sealed class GaussianData(double[] means, double[] stds)
{
    public double[] Means { get; } = means;
    public double[] Stds { get; } = stds;

    public int Channels => Means.Length;

    /// <summary>The exact velocity field; x: (B, C, h, w) float64, t: (B,) float32 -> (B, C, h, w) float64.</summary>
    public Tensor Velocity(Tensor x, Tensor t, Tensor y)
    {
        using var scope = NewDisposeScope();
        var tb = t.to(float64).view(-1, 1, 1, 1);
        var m = tensor(Means, float64).view(1, -1, 1, 1);
        var s2 = tensor(Stds, float64).view(1, -1, 1, 1).square();
        var a = 1.0 - tb;
        var variance = a.square() * s2 + tb.square();
        var lambda = (tb - a * s2) / variance;
        return (lambda * (x - a * m) - m).MoveToOuterDisposeScope();
    }

    /// <summary>The exact flow from noise eps at t = 1 to time t: a m + sqrt(var_t) eps.</summary>
    public Tensor ExactFlow(Tensor noise, double t)
    {
        using var scope = NewDisposeScope();
        var m = tensor(Means, float64).view(1, -1, 1, 1);
        var s = tensor(Stds, float64).view(1, -1, 1, 1);
        var a = 1.0 - t;
        var std = (a * a * s.square() + t * t).sqrt();
        return (a * m + std * noise).MoveToOuterDisposeScope();
    }

    public double MeanAt(int channel, double t) => (1 - t) * Means[channel];

    public double VarianceAt(int channel, double t) => (1 - t) * (1 - t) * Stds[channel] * Stds[channel] + t * t;

    /// <summary>lambda_t of the velocity for channel c.</summary>
    public double Lambda(int channel, double t) => (t - (1 - t) * Stds[channel] * Stds[channel]) / VarianceAt(channel, t);
}
