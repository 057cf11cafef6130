using RaePipeline.Abstractions;
using RaePipeline.Host.Configuration;

namespace RaePipeline.Host.Tests;

/// <summary>
/// The <c>precision</c> setting (top level and in any job's block) and <c>tf32</c>: validated like every other key,
/// with the file, line and column and the nearest valid name; fp16 refused on the CPU with the reason.
/// </summary>
public class PrecisionSettingTests : IDisposable
{
    readonly HostFixture host = new();

    public void Dispose() => host.Dispose();

    const string StatsPipeline = """
        device: cpu
        encoder: { name: patch-projection, options: { input_size: 32, patch_size: 8, channels: 16 } }
        data: { source: synthetic, image_size: 32, num_classes: 2, images_per_class: 2 }

        """;

    ConfigurationProblem SingleProblem(string yaml, params string[] overrides)
    {
        var path = host.Pipeline(yaml);
        var problems = host.Invoking(h => h.Runner.Plan(path, overrides.Select(PipelineOverride.Set).ToList()))
            .Should().Throw<PipelineConfigurationException>().Which.Problems;
        problems.Should().HaveCount(1, string.Join("\n", problems));
        problems[0].File.Should().Be(path);
        return problems[0];
    }

    [Fact]
    public void An_unknown_precision_names_the_nearest_valid_one_where_it_is_written()
    {
        var problem = SingleProblem("device: cpu\nprecision: bf61\n");
        problem.Message.Should().Contain("unknown value 'bf61'").And.Contain("did you mean 'bf16'?")
            .And.Contain("fp32").And.Contain("fp16");
        (problem.Line, problem.Column).Should().Be((3, 12));
    }

    [Fact]
    public void Fp16_on_the_cpu_is_refused_with_the_reason()
    {
        var problem = SingleProblem("device: cpu\nprecision: fp16\n");
        problem.Message.Should().Contain("fp16 runs on CUDA only").And.Contain("0.4 GFLOP/s").And.Contain("use bf16");
        (problem.Line, problem.Column).Should().Be((3, 12));
    }

    [Fact]
    public void A_jobs_precision_is_validated_in_the_jobs_block()
    {
        var problem = SingleProblem(StatsPipeline + "jobs:\n  - stats: { batch_size: 4, precision: fp23 }\n");
        problem.Message.Should().Contain("jobs.stats").And.Contain("unknown value 'fp23'").And.Contain("did you mean");
        (problem.Line, problem.Column).Should().Be((6, 40));
    }

    [Fact]
    public void A_jobs_fp16_on_the_cpu_is_refused()
    {
        var problem = SingleProblem(StatsPipeline + "jobs:\n  - stats: { precision: fp16 }\n");
        problem.Message.Should().Contain("jobs.stats.precision").And.Contain("fp16 runs on CUDA only");
        (problem.Line, problem.Column).Should().Be((6, 25));
    }

    [Fact]
    public void Tf32_takes_true_or_false()
    {
        var problem = SingleProblem("device: cpu\ntf32: sometimes\n");
        problem.Message.Should().Contain("tf32").And.Contain("expected true or false, found 'sometimes'");
        (problem.Line, problem.Column).Should().Be((3, 7));
    }

    [Fact]
    public void A_jobs_precision_overrides_the_pipelines_and_set_reaches_both()
    {
        var path = host.Pipeline(StatsPipeline + "tf32: true\njobs:\n  - stats: { batch_size: 4, precision: fp32 }\n  - stats: { batch_size: 8 }\n");
        var plan = host.Runner.Plan(path, [PipelineOverride.Set("precision=bf16")]);
        plan.Definition.Precision.Should().Be(Precision.Bf16);
        plan.Definition.Tf32.Should().BeTrue();
        plan.Jobs.Select(j => j.Precision).Should().Equal(Precision.Fp32, null);
        host.Runner.Plan(path, [PipelineOverride.Set("jobs.stats[1].precision=bf16")]).Jobs[1].Precision.Should().Be(Precision.Bf16);
        host.Runner.Plan(path, [PipelineOverride.Set("jobs.stats[0].precision=bf16")]).Jobs[0].Precision.Should().Be(Precision.Bf16);
        host.Runner.Plan(path, []).Definition.Precision.Should().Be(Precision.Fp32, "fp32 is the default");
    }
}
