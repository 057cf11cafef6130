namespace RaePipeline.FlowMatching;

/// <summary>
/// The time interval of the Linear path with velocity prediction, as the official <c>Transport.check_interval</c>
/// gives it: t0 = 0 and t1 = 1 - 1/1000. Training draws unshifted times in [t0, t1]; the ODE samplers integrate
/// from shift(1 - t0) = 1 (pure noise) down to shift(1 - t1) = shift(0.001), never to exactly t = 0.
/// </summary>
public static class FlowMatchingInterval
{
    public const double Start = 0.0;

    public const double End = 1.0 - 1.0 / 1000.0;
}
