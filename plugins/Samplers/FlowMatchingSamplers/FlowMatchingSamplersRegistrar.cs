using Microsoft.Extensions.Logging;
using RaePipeline.Abstractions;
using RaePipeline.Samplers.FlowMatching;

[assembly: RaePlugin(typeof(FlowMatchingSamplersRegistrar))]

namespace RaePipeline.Samplers.FlowMatching;

/// <summary>
/// Declares the flow-matching samplers: the fixed-grid ODE solvers euler, heun, midpoint, rk4 and the multistep
/// adams-bashforth and dpm-solver-2m,
/// the adaptive dopri5, and the SDE samplers euler-maruyama and sde-heun. Each validates its options in
/// <c>Describe</c> (by building the sampler, which is cheap), so <c>rae validate</c> points at a bad option's line.
/// </summary>
public sealed class FlowMatchingSamplersRegistrar : IPluginRegistrar
{
    public void Register(IComponentCatalog catalog)
    {
        AddFixedGrid(catalog, "euler",
            "Euler ODE solver on the shifted time grid (the official RAE sampler; 50 grid points = 49 evaluations)",
            grid => new EulerSampler(grid));
        AddFixedGrid(catalog, "heun",
            "Heun (torchdiffeq heun2) ODE solver on the shifted time grid: second order, 2 evaluations per step",
            grid => new HeunSampler(grid));
        AddFixedGrid(catalog, "midpoint",
            "Midpoint (torchdiffeq midpoint) ODE solver on the shifted time grid: second order, 2 evaluations per step",
            grid => new MidpointSampler(grid));
        AddFixedGrid(catalog, "rk4",
            "Runge-Kutta 4 (torchdiffeq rk4, the 3/8 rule) on the shifted time grid: fourth order, 4 evaluations per step",
            grid => new Rk4Sampler(grid));
        catalog.Add(new ComponentRegistration<ISampler, DpmSolverOptions>
        {
            Name = "dpm-solver-2m",
            Description = "DPM-Solver++(2M), flow-matching data-prediction form, on the shifted time grid: multistep, 1 evaluation per step",
            Create = (_, options) => options.Create(),
            Describe = (_, options) => Described(options.Create()),
        });
        catalog.Add(new ComponentRegistration<ISampler, AdamsBashforthOptions>
        {
            Name = "adams-bashforth",
            Description = "variable-step Adams-Bashforth (linear multistep, k-diffusion's lms) on the velocity, on the shifted time grid: 1 evaluation per step, max_order 1-4 (3)",
            Create = (_, options) => options.Create(),
            Describe = (_, options) => Described(options.Create()),
        });
        catalog.Add(new ComponentRegistration<ISampler, Dopri5Options>
        {
            Name = "dopri5",
            Description = "adaptive Dormand-Prince 5(4) (torchdiffeq dopri5: atol, rtol, max_evaluations); the grid only sets output times",
            Create = (context, options) => options.Create(context.LoggerFactory.CreateLogger("rae.sampler.dopri5")),
            Describe = (_, options) => Described(options.Create()),
        });
        AddSde(catalog, "euler-maruyama", SdeMethod.EulerMaruyama,
            "Euler-Maruyama on the reverse SDE dx = [v - D score] dt + sqrt(2D) dW (official sample_sde; 250 grid points)");
        AddSde(catalog, "sde-heun", SdeMethod.Heun,
            "Heun's method on the reverse SDE (official sample_sde with sampling_method heun): 2 evaluations per step");
    }

    static void AddFixedGrid(IComponentCatalog catalog, string name, string description, Func<TimeGridSettings, ISampler> create) =>
        catalog.Add(new ComponentRegistration<ISampler, OdeSamplerOptions>
        {
            Name = name,
            Description = description,
            Create = (_, options) => create(options.ToGrid()),
            Describe = (_, options) => Described(create(options.ToGrid())),
        });

    static void AddSde(IComponentCatalog catalog, string name, SdeMethod method, string description) =>
        catalog.Add(new ComponentRegistration<ISampler, SdeSamplerOptions>
        {
            Name = name,
            Description = description,
            Create = (_, options) => options.Create(method),
            Describe = (_, options) => Described(options.Create(method)),
        });

    /// <summary>A sampler was built without error, so its options are valid; samplers have no shapes to report.</summary>
    static ComponentDescription Described(ISampler _) => new();
}
