using RaePipeline.Abstractions;
using RaePipeline.FlowMatching;
using RaePipeline.Samplers.FlowMatching;
using static TorchSharp.torch;

namespace RaePipeline.Samplers.Tests;

/// <summary>How the samplers use the grid, the field, the generator and the step callback.</summary>
public class SamplerBehaviourTests
{
    static readonly LatentShape Latent = new(2, 3, 3);

    static ISampler Create(string name, Action<SdeSamplerOptions>? sde = null)
    {
        var catalog = new RecordingCatalog();
        new FlowMatchingSamplersRegistrar().Register(catalog);
        var context = new ComponentContext { Device = CPU, BaseDirectory = Path.GetTempPath() };
        if (name is "euler-maruyama" or "sde-heun")
        {
            var options = new SdeSamplerOptions { NumSteps = 12, ShiftBase = 4.5 };
            sde?.Invoke(options);
            return catalog.Create<ISampler, SdeSamplerOptions>(name, context, options);
        }
        if (name == "dopri5")
            return catalog.Create<ISampler, Dopri5Options>(name, context, new Dopri5Options { NumSteps = 12, ShiftBase = 4.5 });
        if (name == "dpm-solver-2m")
            return catalog.Create<ISampler, DpmSolverOptions>(name, context, new DpmSolverOptions { NumSteps = 12, ShiftBase = 4.5 });
        if (name == "adams-bashforth")
            return catalog.Create<ISampler, AdamsBashforthOptions>(name, context, new AdamsBashforthOptions { NumSteps = 12, ShiftBase = 4.5 });
        return catalog.Create<ISampler, OdeSamplerOptions>(name, context, new OdeSamplerOptions { NumSteps = 12, ShiftBase = 4.5 });
    }

    static bool IsSde(string name) => name is "euler-maruyama" or "sde-heun";

    [Theory]
    [InlineData("euler", 11)]
    [InlineData("heun", 22)]
    [InlineData("midpoint", 22)]
    [InlineData("rk4", 44)]
    [InlineData("dpm-solver-2m", 11)]
    [InlineData("adams-bashforth", 11)]
    [InlineData("euler-maruyama", 12)]
    [InlineData("sde-heun", 23)]
    public void Evaluations_and_callbacks_follow_the_grid(string name, int evaluations)
    {
        using var scope = NewDisposeScope();
        var sampler = Create(name);
        var grid = sampler.TimeGrid(Latent);
        grid.shape.Should().Equal([12]);
        grid[0].item<float>().Should().Be(1.0f, "sampling starts from pure noise");
        var calls = 0;
        Tensor Field(Tensor x, Tensor t, Tensor y)
        {
            calls++;
            t.shape.Should().Equal([x.shape[0]]);
            t.dtype.Should().Be(ScalarType.Float32);
            return -x;
        }
        var steps = new List<int>();
        var noise = randn(Latent.WithBatch(2));
        var result = sampler.Sample(Field, noise, zeros([2], dtype: ScalarType.Int64), grid, new Generator(0), (i, x) =>
        {
            x.shape.Should().Equal(noise.shape);
            steps.Add(i);
        });
        calls.Should().Be(evaluations).And.Be(sampler.FunctionEvaluations(12));
        steps.Should().Equal(Enumerable.Range(0, IsSde(name) ? 12 : 11), "one callback per step (and the last step)");
        result.shape.Should().Equal(noise.shape);
        noise.IsInvalid.Should().BeFalse("the caller's noise is not disposed");
    }

    [Fact]
    public void Euler_maruyama_is_reproducible_from_its_generator()
    {
        using var scope = NewDisposeScope();
        var sampler = Create("euler-maruyama");
        var grid = sampler.TimeGrid(Latent);
        var noise = randn(Latent.WithBatch(2));
        var labels = zeros([2], dtype: ScalarType.Int64);
        Tensor Field(Tensor x, Tensor t, Tensor y) => -x;
        var first = sampler.Sample(Field, noise, labels, grid, new Generator(7));
        var again = sampler.Sample(Field, noise, labels, grid, new Generator(7));
        var other = sampler.Sample(Field, noise, labels, grid, new Generator(8));
        again.SameValues(first).Should().BeTrue();
        other.SameValues(first).Should().BeFalse();
    }

    [Theory]
    [InlineData("Mean", 0.04)]
    [InlineData("none", 0.0)]
    public void Euler_maruyama_grid_stops_at_the_shifted_last_step_size(string lastStep, double unshiftedEnd)
    {
        using var scope = NewDisposeScope();
        var sampler = Create("euler-maruyama", o => o.LastStep = lastStep);
        var grid = sampler.TimeGrid(Latent);
        var shift = TimeShift.FromLatent(Latent, 4.5);
        ((double)grid[-1].item<float>()).Should().BeApproximately(shift.Apply(unshiftedEnd), 1e-6);
    }

    [Fact]
    public void Registrar_offers_the_nine_samplers()
    {
        var catalog = new RecordingCatalog();
        new FlowMatchingSamplersRegistrar().Register(catalog);
        catalog.Names.Should().BeEquivalentTo("euler", "heun", "midpoint", "rk4", "dpm-solver-2m", "adams-bashforth", "dopri5", "euler-maruyama", "sde-heun");
    }

    /// <summary>
    /// dopri5 on the field v = x (exact solution x_t = x_1 e^{t - 1}, integrated from t = 1 down): the callbacks
    /// come once per grid point after the first, and the evaluations are 2 + 6 per attempted step, within the cap.
    /// </summary>
    [Fact]
    public void Dopri5_reports_each_grid_point_and_counts_its_evaluations()
    {
        using var scope = NewDisposeScope();
        var sampler = new Dopri5Options { NumSteps = 12, ShiftBase = 4.5, Atol = 1e-9, Rtol = 1e-9 }.Create();
        var grid = sampler.TimeGrid(Latent);
        var calls = 0;
        var steps = new List<int>();
        var noise = randn(Latent.WithBatch(2), generator: new Generator(3));
        var result = sampler.Sample((x, t, y) => { calls++; return x.clone(); }, noise, zeros([2], dtype: ScalarType.Int64), grid,
            onStep: (i, x) => steps.Add(i));
        steps.Should().Equal(Enumerable.Range(0, 11));
        ((calls - 2) % Dopri5Sampler.EvaluationsPerStep).Should().Be(0, "one start, one initial-step probe, six per step");
        calls.Should().BeLessThanOrEqualTo(sampler.FunctionEvaluations(12));
        // dx/dt = x from t = 1 to t_end: x(t_end) = x(1) e^{t_end - 1}.
        var expected = noise * Math.Exp(grid[-1].item<float>() - 1.0);
        TensorAssert.Close(result, expected, 1e-6, 1e-6, "dopri5 on dx/dt = x");
        noise.IsInvalid.Should().BeFalse("the caller's noise is not disposed");
    }

    [Fact]
    public void Dopri5_stops_with_a_clear_error_at_its_evaluation_cap()
    {
        using var scope = NewDisposeScope();
        var sampler = new Dopri5Options { NumSteps = 12, ShiftBase = 4.5, Atol = 1e-12, Rtol = 1e-12, MaxEvaluations = 20 }.Create();
        var noise = randn(Latent.WithBatch(1), generator: new Generator(4));
        var calls = 0;
        var run = () => sampler.Sample((x, t, y) => { calls++; return -3 * x * t.view(-1, 1, 1, 1); }, noise,
            zeros([1], dtype: ScalarType.Int64), sampler.TimeGrid(Latent));
        run.Should().Throw<InvalidOperationException>().WithMessage("*max_evaluations (20)*");
        calls.Should().BeLessThanOrEqualTo(20);
    }

    [Fact]
    public void Default_options_are_the_official_ones()
    {
        new OdeSamplerOptions().ToGrid().Should().Be(new TimeGridSettings(50, null, 4096));
        var sde = new SdeSamplerOptions().Create(SdeMethod.EulerMaruyama);
        sde.Grid.NumPoints.Should().Be(250);
        sde.LastStep.Should().Be(LastStep.Mean);
        sde.LastStepSize.Should().Be(0.04);
        // s = sqrt(768 * 16 * 16 / 4096) = sqrt(48) for the paper's DINOv2-B latents.
        new OdeSamplerOptions().ToGrid().ShiftFor(new(768, 16, 16)).S.Should().BeApproximately(Math.Sqrt(48), 1e-12);
        // sample_ode's defaults: num_steps 50, atol 1e-6, rtol 1e-3.
        var dopri5 = new Dopri5Options().Create();
        (dopri5.Grid.NumPoints, dopri5.Atol, dopri5.Rtol).Should().Be((50, 1e-6, 1e-3));
    }

    [Theory]
    [InlineData("num_steps")]
    [InlineData("shift")]
    [InlineData("diffusion_form")]
    [InlineData("last_step")]
    [InlineData("sample_eps")]
    public void Bad_options_name_their_key(string key)
    {
        var options = new SdeSamplerOptions();
        switch (key)
        {
            case "num_steps": options.NumSteps = 1; break;
            case "shift": options.Shift = -2; break;
            case "diffusion_form": options.DiffusionForm = "cosine"; break;
            case "last_step": options.LastStep = "Heun"; break;
            case "sample_eps": options.DiffusionForm = "SBDM"; break;
        }
        var create = () => options.Create(SdeMethod.EulerMaruyama);
        create.Should().Throw<ComponentConfigurationException>().Which.OptionKey.Should().Be(key);
    }

    [Theory]
    [InlineData("atol", -1e-6, 1e-3, 1000)]
    [InlineData("rtol", 1e-6, double.NaN, 1000)]
    [InlineData("atol", 0.0, 0.0, 1000)]
    [InlineData("max_evaluations", 1e-6, 1e-3, 7)]
    public void Bad_dopri5_options_name_their_key(string key, double atol, double rtol, int maxEvaluations)
    {
        var create = () => new Dopri5Options { Atol = atol, Rtol = rtol, MaxEvaluations = maxEvaluations }.Create();
        create.Should().Throw<ComponentConfigurationException>().Which.OptionKey.Should().Be(key);
    }

    [Fact]
    public void Sde_heun_without_a_last_step_needs_a_grid_end_above_zero()
    {
        var create = () => new SdeSamplerOptions { LastStep = "none" }.Create(SdeMethod.Heun);
        create.Should().Throw<ComponentConfigurationException>().Which.OptionKey.Should().Be("last_step");
        new SdeSamplerOptions { LastStep = "none", SampleEps = 1e-3 }.Create(SdeMethod.Heun).Method.Should().Be(SdeMethod.Heun);
    }

    [Fact]
    public void Sbdm_with_sample_eps_starts_below_one_and_stays_finite()
    {
        using var scope = NewDisposeScope();
        var sampler = Create("euler-maruyama", o => { o.DiffusionForm = "SBDM"; o.SampleEps = 1e-3; });
        var grid = sampler.TimeGrid(Latent);
        grid[0].item<float>().Should().BeLessThan(1.0f);
        var noise = randn(Latent.WithBatch(2));
        var result = sampler.Sample((x, t, y) => -x, noise, zeros([2], dtype: ScalarType.Int64), grid, new Generator(1));
        result.isfinite().all().item<bool>().Should().BeTrue();
    }

    [Fact]
    public void Grid_must_decrease()
    {
        using var scope = NewDisposeScope();
        var sampler = Create("euler");
        var noise = randn(Latent.WithBatch(1));
        var run = () => sampler.Sample((x, t, y) => x, noise, zeros([1], dtype: ScalarType.Int64), tensor(new[] { 0.5f, 0.7f }));
        run.Should().Throw<ArgumentException>().WithMessage("*decrease*");
    }
}
