using RaePipeline.Host.Configuration;

namespace RaePipeline.Host.Tests;

/// <summary>Problems of the pipeline file and of command-line values point at where they are.</summary>
public class LocatedProblemsTests : IDisposable
{
    readonly HostFixture host = new();

    public void Dispose() => host.Dispose();

    string Write(byte[] bytes)
    {
        var path = Path.Combine(host.Folder, "raw.yaml");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    IReadOnlyList<ConfigurationProblem> Problems(string path, params PipelineOverride[] overrides)
    {
        var plan = () => host.Runner.Plan(path, overrides);
        return plan.Should().Throw<PipelineConfigurationException>().Which.Problems;
    }

    [Fact]
    public void A_second_yaml_document_is_refused_at_its_start()
    {
        var path = Write("device: cpu\n---\nseed: 3\n"u8.ToArray());
        var problem = Problems(path).Should().ContainSingle().Subject;
        problem.Message.Should().Contain("a second YAML document");
        (problem.Line, problem.Column).Should().Be((3, 1));
    }

    [Fact]
    public void Bytes_that_are_not_utf8_are_refused_with_their_offset_line_and_column()
    {
        var path = Write([.. "device: cpu\nname: caf"u8, 0xE9, .. "\n"u8]);
        var problem = Problems(path).Should().ContainSingle().Subject;
        problem.ToString().Should().Be($"{path}:2:10: not UTF-8 text: byte 0xE9 at offset 21 is not valid UTF-8 (save the file as UTF-8)");
    }

    [Fact]
    public void A_tab_used_as_indentation_is_reported_at_its_line_and_column()
    {
        var path = Write("device: cpu\nseed: 1\nname: t\noutput: o\ndata:\n  source: synthetic\n  image_size: 32\nencoder:\n\tname: patch-projection\n"u8.ToArray());
        var problem = Problems(path).Should().ContainSingle().Subject;
        problem.Message.Should().Contain("tab");
        (problem.Line, problem.Column).Should().Be((9, 1));
    }

    [Fact]
    public void Values_from_set_device_and_seed_point_at_their_argument()
    {
        var path = host.Pipeline(TinyPipelines.Components + "jobs:\n  - train: { steps: 10 }\n");
        var result = RaeCli.Run("validate", path, "--set", "jobs.train.steps=abc", "--seed", "x1", "--device", "tpu");
        result.Exit.Should().Be(2, result.ToString());
        result.Error.Should().Contain("--set jobs.train.steps=abc: jobs.train.steps: expected an integer, found 'abc'")
            .And.Contain("--seed x1: pipeline.seed: expected an integer, found 'x1'")
            .And.Contain("--device tpu: device: unknown device 'tpu' (expected auto, cpu, cuda or cuda:N)")
            .And.NotContain(":1:1:");
        var missing = RaeCli.Run("validate", path, "--set", "jobs.sample.num_images=3");
        missing.Error.Should().Contain("--set jobs.sample.num_images=3: no entry 'sample' in the list 'jobs'");
    }

    [Fact]
    public void Range_errors_name_the_key_of_the_job_option()
    {
        var path = host.Pipeline(TinyPipelines.Components + "jobs:\n  - stats: { batch_size: 0 }\n");
        var problem = Problems(path).Should().ContainSingle().Subject;
        problem.Message.Should().Be("jobs.stats.batch_size: must be at least 1");
        var lines = File.ReadAllLines(path);
        int line = Array.FindIndex(lines, l => l.Contains("batch_size: 0"));
        (problem.Line, problem.Column).Should().Be((line + 1, lines[line].IndexOf("0 }", StringComparison.Ordinal) + 1));
    }

    [Theory]
    [InlineData("encoder: { name: dinov3 }\n", "unknown encoder plugin 'dinov3'")]
    [InlineData("encoder: { name: dinov2, options: { hiden_size: 16 } }\n", "unknown key 'hiden_size'; did you mean 'hidden_size'?")]
    public void An_unknown_plugin_or_a_mistyped_option_is_the_only_problem_reported(string encoder, string message)
    {
        var path = host.Pipeline($"device: cpu\n{encoder}data: {{ source: synthetic, image_size: 16 }}\njobs:\n  - stats: {{}}\n");
        Problems(path).Should().ContainSingle().Which.Message.Should().Contain(message);
    }

    [Fact]
    public void Set_reaches_every_entry_of_a_repeated_job_and_one_entry_by_index()
    {
        var path = host.Pipeline(TinyPipelines.Components + "jobs:\n  - sample: { num_images: 64 }\n  - stats: {}\n  - sample: { num_images: 32, output: later }\n");
        var all = host.Runner.Plan(path, [PipelineOverride.Set("jobs.sample.num_images=8")]);
        all.Jobs.Where(j => j.Job.Name == "sample").Select(j => ((Generation.SampleJobOptions)j.Options).NumImages).Should().Equal(8, 8);
        var second = host.Runner.Plan(path, [PipelineOverride.Set("jobs.sample[1].num_images=3")]);
        second.Jobs.Where(j => j.Job.Name == "sample").Select(j => ((Generation.SampleJobOptions)j.Options).NumImages).Should().Equal(64, 3);
        Problems(path, PipelineOverride.Set("jobs.sample[2].num_images=3")).Should().ContainSingle().Which.ToString()
            .Should().Be("--set jobs.sample[2].num_images=3: 'jobs' has 2 'sample' entries: [2] is outside 0..1");
    }
}
