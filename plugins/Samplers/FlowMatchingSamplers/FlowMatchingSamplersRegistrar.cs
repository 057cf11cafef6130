using RaePipeline.Abstractions;
using RaePipeline.Samplers.FlowMatching;

[assembly: RaePlugin(typeof(FlowMatchingSamplersRegistrar))]

namespace RaePipeline.Samplers.FlowMatching;

/// <summary>Declares the flow-matching samplers: euler, heun, midpoint and euler-maruyama.</summary>
public sealed class FlowMatchingSamplersRegistrar : IPluginRegistrar
{
    public void Register(IComponentCatalog catalog)
    {
        catalog.Add(new ComponentRegistration<ISampler, OdeSamplerOptions>
        {
            Name = "euler",
            Description = "Euler ODE solver on the shifted time grid (the official RAE sampler; 50 grid points = 49 evaluations)",
            Create = (_, options) => new EulerSampler(options.ToGrid()),
        });
        catalog.Add(new ComponentRegistration<ISampler, OdeSamplerOptions>
        {
            Name = "heun",
            Description = "Heun (torchdiffeq heun2) ODE solver on the shifted time grid: second order, 2 evaluations per step",
            Create = (_, options) => new HeunSampler(options.ToGrid()),
        });
        catalog.Add(new ComponentRegistration<ISampler, OdeSamplerOptions>
        {
            Name = "midpoint",
            Description = "Midpoint (torchdiffeq midpoint) ODE solver on the shifted time grid: second order, 2 evaluations per step",
            Create = (_, options) => new MidpointSampler(options.ToGrid()),
        });
        catalog.Add(new ComponentRegistration<ISampler, EulerMaruyamaOptions>
        {
            Name = "euler-maruyama",
            Description = "Euler-Maruyama on the reverse SDE dx = [v - D score] dt + sqrt(2D) dW (official sample_sde; 250 grid points)",
            Create = (_, options) => options.Create(),
        });
    }
}
