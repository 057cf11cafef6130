using RaePipeline.Abstractions;

namespace RaePipeline.Samplers.FlowMatching;

/// <summary>
/// The final jump of the SDE sampler from the last grid time t_N to data (official <c>last_step</c>):
/// <c>Mean</c> x - (v - D score) t_N (the noiseless Euler-Maruyama mean), <c>Tweedie</c> x / (1 - t) + t^2 / (1 - t)
/// score (the posterior mean E[z | x_t]), <c>Euler</c> x - v t_N (an ODE step), <c>none</c> (the grid then runs to
/// t = 0 and no jump is made).
/// </summary>
public enum LastStep
{
    None,
    Mean,
    Tweedie,
    Euler,
}

public static class LastStepNames
{
    /// <summary>Parses <c>Mean</c>, <c>Tweedie</c>, <c>Euler</c> or <c>none</c>/null (case-insensitive).</summary>
    public static LastStep Parse(string? name) => name?.Trim().ToLowerInvariant() switch
    {
        null or "" or "none" or "null" => LastStep.None,
        "mean" => LastStep.Mean,
        "tweedie" => LastStep.Tweedie,
        "euler" => LastStep.Euler,
        _ => throw new ComponentConfigurationException(
            $"unknown last_step '{name}': expected Mean, Tweedie, Euler or none", "last_step"),
    };
}
