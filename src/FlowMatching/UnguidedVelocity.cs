using RaePipeline.Abstractions;

namespace RaePipeline.FlowMatching;

/// <summary>The plain conditional field v = model(x, t, y), without guidance (official <c>model.forward</c>).</summary>
public static class UnguidedVelocity
{
    public static VelocityField Of(IDenoiser model) => model.Forward;
}
