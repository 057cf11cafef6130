using System.Globalization;
using static TorchSharp.torch;

namespace RaePipeline.FlowMatching;

/// <summary>
/// How training draws the (unshifted) time t in [t0, t1] = [0, 0.999] before the shift, as the official
/// <c>Transport.sample</c> does for its <c>time_dist_type</c>:
/// <c>uniform</c>: t = u (t1 - t0) + t0 with u ~ U[0, 1);
/// <c>logit-normal_mu_sigma</c>: truncated logit-normal by the inverse CDF, z = mu + sigma Phi^-1(U) with
/// U uniform on [Phi(alpha), Phi(beta)], alpha = (logit(t0) - mu) / sigma, beta = (logit(t1) - mu) / sigma,
/// t = sigmoid(z) clamped to [t0, t1].
/// Both map one uniform draw per sample, so <see cref="FromUniform"/> makes the mapping testable without a generator.
/// </summary>
public sealed class TimeDistribution
{
    TimeDistribution(string name, double? mu, double? sigma)
    {
        Name = name;
        Mu = mu;
        Sigma = sigma;
    }

    /// <summary>The official spelling: <c>uniform</c> or <c>logit-normal_{mu}_{sigma}</c>.</summary>
    public string Name { get; }

    /// <summary>Logit-normal location, null for uniform.</summary>
    public double? Mu { get; }

    /// <summary>Logit-normal scale, null for uniform.</summary>
    public double? Sigma { get; }

    public static TimeDistribution Uniform { get; } = new("uniform", null, null);

    public static TimeDistribution LogitNormal(double mu, double sigma)
    {
        if (!double.IsFinite(mu)) throw new ArgumentOutOfRangeException(nameof(mu), mu, "logit-normal mu must be finite");
        if (!(sigma > 0) || !double.IsFinite(sigma))
            throw new ArgumentOutOfRangeException(nameof(sigma), sigma, "logit-normal sigma must be a finite positive number");
        return new TimeDistribution(
            $"logit-normal_{mu.ToString(CultureInfo.InvariantCulture)}_{sigma.ToString(CultureInfo.InvariantCulture)}", mu, sigma);
    }

    /// <summary>Parses the official <c>time_dist_type</c> string: <c>uniform</c> or <c>logit-normal_0_1</c>.</summary>
    public static TimeDistribution Parse(string text)
    {
        var parts = text.Trim().Split('_');
        if (parts is ["uniform"]) return Uniform;
        if (parts.Length == 3 && parts[0] == "logit-normal" &&
            double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var mu) &&
            double.TryParse(parts[2], NumberStyles.Float, CultureInfo.InvariantCulture, out var sigma))
            return LogitNormal(mu, sigma);
        throw new FormatException(
            $"unknown time distribution '{text}': expected 'uniform' or 'logit-normal_<mu>_<sigma>' (e.g. logit-normal_0_1)");
    }

    /// <summary>
    /// u: (B,) float32 uniform draws in [0, 1) -> unshifted times (B,) in [0, 0.999], float32. For uniform this is
    /// u * 0.999 + 0 exactly as the official code computes it.
    /// </summary>
    public Tensor FromUniform(Tensor u)
    {
        if (u.dtype != ScalarType.Float32)
            throw new ArgumentException($"uniform draws must be float32, got {u.dtype}", nameof(u));
        const double t0 = FlowMatchingInterval.Start, t1 = FlowMatchingInterval.End;
        using var scope = NewDisposeScope();
        if (Mu is not { } mu || Sigma is not { } sigma)
            return (u * (t1 - t0) + t0).MoveToOuterDisposeScope();

        // Truncation bounds in standard-normal units (logit(0) = -inf gives Phi(alpha) = 0), in float32 like the
        // official code, which builds them from float32 tensors.
        var low = tensor((float)t0, device: u.device);
        var high = tensor((float)t1, device: u.device);
        var alpha = (special.logit(low) - (float)mu) / (float)sigma;
        var beta = (special.logit(high) - (float)mu) / (float)sigma;
        var cdfAlpha = StandardNormalCdf(alpha);
        var cdfBeta = StandardNormalCdf(beta);
        var p = cdfAlpha + (cdfBeta - cdfAlpha) * u.clamp(0.0f, 1.0f);
        var z = (float)mu + (float)sigma * StandardNormalInverseCdf(p);
        return sigmoid(z).clamp(low, high).MoveToOuterDisposeScope();
    }

    /// <summary>B unshifted times in [0, 0.999], float32, from one uniform draw each.</summary>
    public Tensor SampleUnshifted(long batch, Generator? generator = null, Device? device = null)
    {
        using var scope = NewDisposeScope();
        var u = rand([batch], dtype: ScalarType.Float32, generator: generator);
        return FromUniform(device is null ? u : u.to(device)).MoveToOuterDisposeScope();
    }

    /// <summary>B training times: drawn unshifted, then shifted (float32, (B,)).</summary>
    public Tensor Sample(long batch, TimeShift shift, Generator? generator = null, Device? device = null)
    {
        using var scope = NewDisposeScope();
        return shift.Apply(SampleUnshifted(batch, generator, device)).MoveToOuterDisposeScope();
    }

    // Phi(x) = 0.5 (1 + erf(x / sqrt 2)), as torch.distributions.Normal(0, 1).cdf.
    static Tensor StandardNormalCdf(Tensor x) => 0.5f * (1.0f + special.erf(x / (float)Math.Sqrt(2)));

    // Phi^-1(p) = sqrt 2 erfinv(2p - 1), as torch.distributions.Normal(0, 1).icdf.
    static Tensor StandardNormalInverseCdf(Tensor p) => special.erfinv(2.0f * p - 1.0f) * (float)Math.Sqrt(2);

    public override string ToString() => Name;
}
