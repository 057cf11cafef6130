using RaePipeline.Host.Configuration;

namespace RaePipeline.Host.Tests;

/// <summary>Every invalid pipeline is refused before heavy work with the file, line and column of the problem.</summary>
public class PipelineValidationTests : IDisposable
{
    readonly HostFixture host = new();

    public void Dispose() => host.Dispose();

    ConfigurationProblem SingleProblem(string yaml, params string[] overrides)
    {
        var path = host.Pipeline(yaml);
        var plan = () => host.Runner.Plan(path, PipelineOverride.Set(overrides));
        var problems = plan.Should().Throw<PipelineConfigurationException>().Which.Problems;
        problems.Should().HaveCount(1, string.Join("\n", problems));
        problems[0].File.Should().Be(path);
        return problems[0];
    }

    [Fact]
    public void Malformed_yaml_names_the_line_and_column()
    {
        var problem = SingleProblem("device: cpu\nencoder:\n  name: patch-projection\n    weights: x\n");
        problem.Message.Should().StartWith("malformed YAML");
        (problem.Line, problem.Column).Should().Be((5, 12));
    }

    [Fact]
    public void An_unknown_key_suggests_the_nearest_valid_one()
    {
        var problem = SingleProblem("device: cpu\nsed: 3\n");
        problem.Message.Should().Contain("unknown key 'sed'").And.Contain("did you mean 'seed'?");
        (problem.Line, problem.Column).Should().Be((3, 1));
    }

    [Fact]
    public void An_unknown_key_inside_a_plugins_options_is_found_with_the_plugins_own_options()
    {
        var problem = SingleProblem("encoder:\n  name: patch-projection\n  options:\n    chanels: 8\n");
        problem.Message.Should().Contain("encoder.options (patch-projection)").And.Contain("did you mean 'channels'?");
        (problem.Line, problem.Column).Should().Be((5, 5));
    }

    [Fact]
    public void A_value_of_the_wrong_type_says_what_was_expected()
    {
        var problem = SingleProblem("seed: many\n");
        problem.Message.Should().Contain("expected an integer, found 'many'");
        (problem.Line, problem.Column).Should().Be((2, 7));
    }

    [Fact]
    public void An_unknown_plugin_lists_the_installed_ones()
    {
        var problem = SingleProblem("encoder: { name: patch-projektion }\n");
        problem.Message.Should().Contain("unknown encoder plugin 'patch-projektion'")
            .And.Contain("did you mean 'patch-projection'?").And.Contain("valid: ").And.Contain("patch-projection");
        (problem.Line, problem.Column).Should().Be((2, 18));
    }

    [Fact]
    public void A_missing_weights_file_is_named_with_its_full_path()
    {
        var problem = SingleProblem("encoder: { name: patch-projection, weights: models/missing.safetensors }\n");
        problem.Message.Should().Contain("weights file not found: " + Path.Combine(host.Folder, "models", "missing.safetensors"));
        (problem.Line, problem.Column).Should().Be((2, 45));
    }

    [Fact]
    public void Encoder_and_denoiser_channel_mismatch_is_refused()
    {
        var problem = SingleProblem("""
            encoder: { name: patch-projection, options: { input_size: 32, patch_size: 8, channels: 16 } }
            denoiser:
              name: dit-dh
              options: { in_channels: 32, input_size: 4, hidden_size: [32, 48], depth: [1, 1], num_heads: [2, 2], num_classes: 3 }
            """);
        problem.Message.Should().Contain("denoiser 'dit-dh'").And.Contain("in_channels 32").And.Contain("(16, 4, 4)");
        const string optionsLine = "  options: { in_channels: 32,";
        (problem.Line, problem.Column).Should().Be((5, optionsLine.IndexOf("32", StringComparison.Ordinal) + 1),
            "the problem points at the in_channels option");
    }

    [Fact]
    public void An_unknown_job_suggests_the_nearest()
    {
        var problem = SingleProblem("jobs:\n  - smaple: {}\n", []);
        problem.Message.Should().Contain("unknown job 'smaple'");
        (problem.Line, problem.Column).Should().Be((3, 5));
    }

    [Fact]
    public void Overrides_from_the_command_line_reach_the_plugin_options()
    {
        var path = host.Pipeline("encoder: { name: patch-projection, options: { channels: 8 } }\n");
        var plan = host.Runner.Plan(path, PipelineOverride.Set(["encoder.options.channels=24", "seed=9"]));
        plan.Definition.Seed.Should().Be(9);
        plan.Components[Pipeline.PipelineRole.Encoder].Description!.Latent!.Value.Channels.Should().Be(24);
    }

    [Fact]
    public void Validate_command_accepts_a_pipeline_naming_the_sample_plugin()
    {
        var path = host.Pipeline("device: cpu\nencoder: { name: patch-projection, options: { channels: 12 } }\n");
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = RaeCommand.Run(["validate", path], output, error, Pipeline.ProgressReporter.Silent, _ => { });
        exit.Should().Be(0, error.ToString());
        output.ToString().Should().Contain($"{path}: valid (1 components");
    }

    [Fact]
    public void Validate_command_prints_located_problems_and_exits_with_2()
    {
        var path = host.Pipeline("devise: cpu\n");
        var error = new StringWriter();
        var exit = RaeCommand.Run(["validate", path], new StringWriter(), error, Pipeline.ProgressReporter.Silent, _ => { });
        exit.Should().Be(2);
        error.ToString().Should().Contain($"{path}:2:1: pipeline: unknown key 'devise'; did you mean 'device'?");
    }
}
