using RaePipeline.Abstractions;
using RaePipeline.Backbones.DiffusionTransformers;
using RaePipeline.FlowMatching;
using RaePipeline.Samplers.FlowMatching;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace RaePipeline.Samplers.Tests;

/// <summary>
/// Parity with the official sampler on the kit's DiT^DH (README section 7 (c)-(f) and the ditdh case's cfg_out):
/// the doubled CFG batch, the sampler plugins on their own shifted grid, the guidance wrappers and the loss. Finals
/// and trajectories within 1e-4 abs and 1e-4 relative to max |expected|; finals also against the float64 references.
/// </summary>
public class ModelParityTests(KitModels models, ITestOutputHelper output) : IClassFixture<KitModels>
{
    ParityCase Kit => models.Kit;

    /// <summary>Runs a sampler plugin on the doubled batch [noise; noise], [labels; null] and keeps the first half.</summary>
    (Tensor Final, Tensor Trajectory) Run(string samplerName, VelocityField field)
    {
        var sampler = models.Catalog.Create<ISampler, OdeSamplerOptions>(samplerName, models.Context, new OdeSamplerOptions
        {
            NumSteps = Kit.Get<int>("num_steps"),
            ShiftBase = Kit.Get<double>("time_dist_shift_base"),
        });
        var noise = Kit["noise"];
        var (x, y) = GuidanceBatch.Double(noise, Kit["labels"], Kit.Get<long>("null_label"));
        var grid = sampler.TimeGrid(models.Latent);
        var trajectory = new List<Tensor> { noise.clone() };
        var result = sampler.Sample(field, x, y, grid, onStep: (_, state) => trajectory.Add(GuidanceBatch.FirstHalf(state).clone()));
        return (GuidanceBatch.FirstHalf(result), stack(trajectory));
    }

    void CheckRun(string tag, (Tensor Final, Tensor Trajectory) run)
    {
        var error = TensorAssert.Close(run.Final, Kit[$"{tag}/final"], what: $"{tag}/final");
        TensorAssert.Close(run.Trajectory, Kit[$"{tag}/trajectory"], what: $"{tag}/trajectory");
        var fp64 = TensorAssert.Close(run.Final, Kit[$"{tag}/final_fp64_reference"], what: $"{tag}/final vs float64 reference");
        output.WriteLine($"{tag}: final max abs error {error:E2} (vs float64 reference {fp64:E2})");
    }

    ClassifierFreeGuidance Cfg => new(models.Main, Kit.Get<double>("cfg_scale"), Interval("cfg_interval"));

    GuidanceInterval Interval(string key)
    {
        var bounds = Kit.GetArray<double>(key);
        return new GuidanceInterval(bounds[0], bounds[1]);
    }

    [ParityFact("sampler")]
    [Trait("Category", "Parity")]
    public void Euler_with_cfg_matches_final_and_trajectory()
    {
        using var scope = NewDisposeScope();
        CheckRun("euler_cfg", Run("euler", Cfg.Field));
    }

    [ParityFact("sampler")]
    [Trait("Category", "Parity")]
    public void Heun2_with_cfg_matches_final_and_trajectory()
    {
        using var scope = NewDisposeScope();
        CheckRun("heun2_cfg", Run("heun", Cfg.Field));
    }

    [ParityFact("sampler")]
    [Trait("Category", "Parity")]
    public void Midpoint_with_cfg_matches_final_and_trajectory()
    {
        using var scope = NewDisposeScope();
        CheckRun("midpoint_cfg", Run("midpoint", Cfg.Field));
    }

    [ParityFact("sampler")]
    [Trait("Category", "Parity")]
    public void Euler_without_guidance_matches_final_and_trajectory()
    {
        using var scope = NewDisposeScope();
        CheckRun("euler_noguidance", Run("euler", UnguidedVelocity.Of(models.Main)));
    }

    [ParityFact("sampler")]
    [Trait("Category", "Parity")]
    public void Autoguidance_single_forward_matches()
    {
        using var scope = NewDisposeScope();
        var (x, t, y) = (Kit["ag_x"], Kit["ag_t"], Kit["ag_y"]);
        using (no_grad())
        {
            var main = TensorAssert.Close(models.Main.Forward(x, t, y), Kit["ag_forward_main_v"], what: "ag_forward_main_v");
            var guide = TensorAssert.Close(models.Guide.Forward(x, t, y), Kit["ag_forward_guide_v"], what: "ag_forward_guide_v");
            var ag = new AutoGuidance(models.Main, models.Guide, Kit.Get<double>("ag_scale"), Interval("ag_interval"));
            var guided = TensorAssert.Close(ag.Field(x, t, y), Kit["ag_forward_out"], what: "ag_forward_out");
            output.WriteLine($"max abs error: main v {main:E2}, guide v {guide:E2}, ag_forward_out {guided:E2}");
        }
    }

    [ParityFact("sampler")]
    [Trait("Category", "Parity")]
    public void Euler_with_autoguidance_matches_final_and_trajectory()
    {
        using var scope = NewDisposeScope();
        var ag = new AutoGuidance(models.Main, models.Guide, Kit.Get<double>("ag_scale"), Interval("ag_interval"));
        CheckRun("euler_autoguidance", Run("euler", ag.Field));
    }

    [ParityFact("sampler")]
    [Trait("Category", "Parity")]
    public void Training_loss_with_the_model_matches()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var shift = new TimeShift(Kit.Get<double>("shift"));
        var t = shift.Apply(TimeDistribution.Uniform.FromUniform(Kit["loss_u"]));
        using var terms = FlowMatchingLoss.Evaluate(models.Main.Forward, Kit["loss_z"], Kit["loss_eps"], t, Kit["loss_y"]);
        var prediction = TensorAssert.Close(terms.Prediction, Kit["loss_pred"], what: "loss_pred");
        var perSample = TensorAssert.Close(terms.PerSampleLoss, Kit["loss_per_sample"], what: "loss_per_sample");
        var mean = TensorAssert.Close(terms.Mean(), Kit["loss_mean"], what: "loss_mean");
        output.WriteLine($"max abs error: loss_pred {prediction:E2}, loss_per_sample {perSample:E2}, loss_mean {mean:E2}");
    }

    [ParityFact("ditdh")]
    [Trait("Category", "Parity")]
    public void Ditdh_forward_with_cfg_matches_cfg_out()
    {
        using var ditdh = ParityKit.Open("ditdh");
        using var scope = NewDisposeScope();
        var catalog = new RecordingCatalog();
        new DiffusionTransformersRegistrar().Register(catalog);
        var context = new ComponentContext { Device = CPU, BaseDirectory = ditdh.Folder };
        using var model = catalog.Create<IDenoiser, DiTDHOptions>("dit-dh", context, new DiTDHOptions { Config = "model.yaml" });
        var bounds = ditdh.GetArray<double>("cfg_interval");
        var interval = new GuidanceInterval(bounds[0], bounds[1]);
        var cfg = new ClassifierFreeGuidance(model, ditdh.Get<double>("cfg_scale"), interval);
        var t = ditdh["cfg_t"];
        var half = t.shape[0] / 2;
        t[..(int)half].data<float>().ToArray().Select(interval.Contains).Should().Equal(ditdh.GetArray<bool>("cfg_guided_mask"));
        using var noGrad = no_grad();
        var error = TensorAssert.Close(cfg.Field(ditdh["cfg_x"], t, ditdh["cfg_y"]), ditdh["cfg_out"], what: "cfg_out");
        output.WriteLine($"cfg_out max abs error {error:E2}");
    }
}
