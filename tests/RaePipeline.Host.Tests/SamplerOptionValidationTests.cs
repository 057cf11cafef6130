namespace RaePipeline.Host.Tests;

/// <summary>
/// `rae validate` refuses invalid sampler options (checked by the sampler plugin's Describe) with the file, line and
/// column of the option, before anything runs.
/// </summary>
public class SamplerOptionValidationTests : IDisposable
{
    readonly HostFixture host = new();

    public void Dispose() => host.Dispose();

    [Theory]
    [InlineData("euler", "num_steps: 0", "num_steps must be at least 2")]
    [InlineData("rk4", "shift: -2", "shift must be a finite positive number")]
    [InlineData("dopri5", "atol: -1.0e-6", "atol must be a finite number")]
    [InlineData("dopri5", "max_evaluations: 3", "max_evaluations must allow at least one step")]
    [InlineData("euler-maruyama", "diffusion_form: cosine", "unknown diffusion_form 'cosine'")]
    [InlineData("sde-heun", "last_step: Heun", "unknown last_step 'Heun'")]
    [InlineData("dpm-solver-2m", "num_steps: 1", "num_steps must be at least 2")]
    public void Validate_points_at_the_bad_sampler_option(string sampler, string option, string message)
    {
        // Line 1 is the plugins line the fixture adds; the option is on line 6, after 4 spaces.
        var path = host.Pipeline($"device: cpu\nsampler:\n  name: {sampler}\n  options:\n    {option}\n");
        var error = new StringWriter();
        var exit = RaeCommand.Run(["validate", path], new StringWriter(), error, Pipeline.ProgressReporter.Silent, _ => { });
        exit.Should().Be(2, error.ToString());
        var key = option[..option.IndexOf(':')];
        error.ToString().Should().Contain($"{path}:6:").And.Contain($"sampler '{sampler}'").And.Contain(message, $"the problem names {key}");
        var column = int.Parse(error.ToString().Split($"{path}:6:")[1].Split(':')[0]);
        column.Should().BeOneOf([5, 5 + key.Length + 2], "the option's key or value");
    }

    [Fact]
    public void Validate_accepts_valid_options_of_every_new_sampler()
    {
        var path = host.Pipeline("device: cpu\nsampler: { name: dopri5, options: { atol: 1.0e-5, rtol: 1.0e-4, max_evaluations: 200 } }\n");
        var error = new StringWriter();
        RaeCommand.Run(["validate", path], new StringWriter(), error, Pipeline.ProgressReporter.Silent, _ => { }).Should().Be(0, error.ToString());
    }
}
