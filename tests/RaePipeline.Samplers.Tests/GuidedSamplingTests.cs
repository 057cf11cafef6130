using RaePipeline.Abstractions;
using RaePipeline.FlowMatching;
using RaePipeline.Samplers.FlowMatching;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace RaePipeline.Samplers.Tests;

/// <summary>
/// Every sampler with the guidance wrappers (CFG with an interval, AutoGuidance), built as the sample job builds them
/// (<see cref="GuidedVelocity"/>, doubled batch). The reference run integrates the same doubled noise with labels
/// [y; y] through a field written out here, per sample: inside t_min ≤ t ≤ t_max (float32, at the time of each
/// evaluation) v = weak + w (main - weak), else main (labels [y; y] for CFG, whose halves stay equal; the doubled
/// batch's own [y; null] for AutoGuidance, which guides every row). The samples must agree for every sampler,
/// including dopri5's intermediate stage times (recorded: some lie between grid points, on both sides of the interval)
/// and the SDE samplers (same generator, same noise shape).
/// </summary>
public class GuidedSamplingTests(ITestOutputHelper output)
{
    static readonly LatentShape Latent = new(2, 3, 3);
    const long NullLabel = 9;
    const double Scale = 2.5;
    static readonly GuidanceInterval Interval = new(0.3, 0.8);

    // A stable, label-dependent field: dx/dt = -(y + 1) x / 4 + t.
    static Tensor Main(Tensor x, Tensor t, Tensor y) => -(y.to(x.dtype) + 1).view(-1, 1, 1, 1) * x * 0.25 + t.to(x.dtype).view(-1, 1, 1, 1);

    static Tensor Guide(Tensor x, Tensor t, Tensor y) => 0.5 * Main(x, t, y) - 1.0;

    static ISampler Create(string name)
    {
        var catalog = new RecordingCatalog();
        new FlowMatchingSamplersRegistrar().Register(catalog);
        var context = new ComponentContext { Device = CPU, BaseDirectory = Path.GetTempPath() };
        return name switch
        {
            "euler-maruyama" or "sde-heun" =>
                catalog.Create<ISampler, SdeSamplerOptions>(name, context, new SdeSamplerOptions { NumSteps = 12, ShiftBase = 4.5 }),
            "dopri5" => catalog.Create<ISampler, Dopri5Options>(name, context,
                new Dopri5Options { NumSteps = 12, ShiftBase = 4.5, Atol = 1e-4, Rtol = 1e-4 }),
            "dpm-solver-2m" => catalog.Create<ISampler, DpmSolverOptions>(name, context, new DpmSolverOptions { NumSteps = 12, ShiftBase = 4.5 }),
            "adams-bashforth" => catalog.Create<ISampler, AdamsBashforthOptions>(name, context, new AdamsBashforthOptions { NumSteps = 12, ShiftBase = 4.5 }),
            _ => catalog.Create<ISampler, OdeSamplerOptions>(name, context, new OdeSamplerOptions { NumSteps = 12, ShiftBase = 4.5 }),
        };
    }

    public static TheoryData<string, GuidanceMethod> Cases()
    {
        var data = new TheoryData<string, GuidanceMethod>();
        foreach (var sampler in new[] { "euler", "heun", "midpoint", "rk4", "dpm-solver-2m", "adams-bashforth", "dopri5", "euler-maruyama", "sde-heun" })
        foreach (var method in new[] { GuidanceMethod.Cfg, GuidanceMethod.Autoguidance })
            data.Add(sampler, method);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Guided_sampling_equals_the_written_out_guided_field(string samplerName, GuidanceMethod method)
    {
        using var scope = NewDisposeScope();
        var sampler = Create(samplerName);
        var grid = sampler.TimeGrid(Latent);
        var gridTimes = grid.data<float>().ToHashSet();
        var noise = randn(Latent.WithBatch(3), generator: new Generator(11));
        var labels = tensor(new long[] { 0, 2, 5 });
        var times = new List<float>();
        using var main = new FieldDenoiser((x, t, y) => { times.Add(t[0].item<float>()); return Main(x, t, y); }, NullLabel);
        using var guide = new FieldDenoiser(Guide, NullLabel);
        var guided = GuidedVelocity.Create(method, Scale, Interval, main, guide);
        guided.DoublesBatch.Should().BeTrue();
        var (x, y) = guided.Prepare(noise, labels);
        var samples = guided.Result(sampler.Sample(guided.Field, x, y, grid, new Generator(5)));

        Tensor WrittenOut(Tensor state, Tensor t, Tensor yy)
        {
            var strong = Main(state, t, yy);
            var weak = method == GuidanceMethod.Cfg ? Main(state, t, full_like(yy, NullLabel)) : Guide(state, t, yy);
            var inside = t.ge((float)Interval.TMin).logical_and(t.le((float)Interval.TMax)).view(-1, 1, 1, 1);
            return where(inside, weak + Scale * (strong - weak), strong);
        }
        // CFG's second half repeats the first; AutoGuidance evaluates every row with its own label (the doubled batch's
        // second half with the null label), which matters for dopri5, whose error norm spans the whole batch.
        var referenceLabels = method == GuidanceMethod.Cfg ? cat([labels, labels]) : y;
        var reference = GuidanceBatch.FirstHalf(
            sampler.Sample(WrittenOut, cat([noise, noise]), referenceLabels, grid, new Generator(5)));

        TensorAssert.Close(samples, reference, 1e-6, 1e-6, $"{samplerName} with {method}");
        var inside = times.Count(Interval.Contains);
        output.WriteLine($"{samplerName} {method}: {times.Count} evaluations, {inside} inside {Interval}, " +
            $"{times.Count(t => !gridTimes.Contains(t))} at times between grid points");
        inside.Should().BeGreaterThan(0);
        (times.Count - inside).Should().BeGreaterThan(0);
        if (samplerName == "dopri5")
            times.Should().Contain(t => !gridTimes.Contains(t) && Interval.Contains(t), "dopri5 guides at its own stage times");
        (samples - noise).abs().max().item<float>().Should().BeGreaterThan(1e-3f, "sampling moved the state");
    }
}
