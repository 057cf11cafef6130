using static TorchSharp.torch;

namespace RaePipeline.FlowMatching;

/// <summary>
/// The official "Linear" path (SiT's ICPlan with RAE's orientation): x0 = noise eps, x1 = data z,
/// x_t = alpha_t z + sigma_t eps with alpha_t = 1 - t and sigma_t = t, so t = 0 is data and t = 1 is pure noise.
/// The velocity is u_t = d alpha_t z + d sigma_t eps = eps - z.
/// </summary>
public static class LinearInterpolant
{
    /// <summary>z, eps: (B, C, h, w); t: (B,) -> x_t = (1 - t) z + t eps, (B, C, h, w).</summary>
    public static Tensor Mix(Tensor z, Tensor eps, Tensor t)
    {
        using var scope = NewDisposeScope();
        var tb = PerSample(t, z);
        return ((1.0f - tb) * z + tb * eps).MoveToOuterDisposeScope();
    }

    /// <summary>The velocity target eps - z, computed as (-1) z + 1 eps like the official <c>compute_ut</c>.</summary>
    public static Tensor Velocity(Tensor z, Tensor eps)
    {
        using var scope = NewDisposeScope();
        return (-z + eps).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The score grad log p_t(x) from a velocity prediction (official <c>get_score_from_velocity</c>):
    /// with alpha_t / alpha'_t = t - 1 and var = sigma_t^2 - (alpha_t / alpha'_t) sigma'_t sigma_t = t,
    /// score = ((t - 1) v - x) / t (= -E[eps | x_t] / t). v, x: (B, C, h, w); t: (B,), t > 0.
    /// </summary>
    public static Tensor ScoreFromVelocity(Tensor velocity, Tensor x, Tensor t)
    {
        using var scope = NewDisposeScope();
        var tb = PerSample(t, x);
        return (((tb - 1.0f) * velocity - x) / tb).MoveToOuterDisposeScope();
    }

    /// <summary>t: (B,) -> (B, 1, ..., 1) broadcastable against <paramref name="like"/> (official <c>expand_t_like_x</c>).</summary>
    public static Tensor PerSample(Tensor t, Tensor like)
    {
        if (t.dim() != 1 || t.shape[0] != like.shape[0])
            throw new ArgumentException(
                $"times must be (B,) with B = {like.shape[0]} (the batch of [{string.Join(", ", like.shape)}]), got [{string.Join(", ", t.shape)}]");
        var shape = new long[like.dim()];
        Array.Fill(shape, 1L);
        shape[0] = t.shape[0];
        return t.view(shape);
    }
}
