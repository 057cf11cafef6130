using System.CommandLine;
using RaePipeline.Host.Cli;

namespace RaePipeline.Host.Tests;

/// <summary>The rae command line: help per command and job, exit codes, flags, job names and job options.</summary>
public class CommandLineTests : IDisposable
{
    readonly HostFixture host = new();

    public void Dispose() => host.Dispose();

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    [InlineData("run", "--help")]
    [InlineData("run", "-h")]
    [InlineData("validate", "--help")]
    [InlineData("sample", "--help")]
    [InlineData("train", "-h")]
    public void Help_of_rae_and_of_each_command_prints_it_and_exits_0(params string[] args)
    {
        var result = RaeCli.Run(args);
        result.Exit.Should().Be(0, result.ToString());
        result.Output.Should().Contain("Usage:").And.Contain(args[0].StartsWith('-') ? "rae [command]" : $"rae {args[0]} <pipeline>");
        result.Error.Should().BeEmpty();
    }

    [Fact]
    public void Train_help_lists_every_option_of_the_train_job_with_its_default()
    {
        var help = RaeCli.Run("train", "--help").Output;
        help.Should().MatchRegex(@"--steps <integer>\s+Optimizer steps to reach[^\n]*\[default: 1000\]");
        help.Should().MatchRegex(@"--batch-size <integer>\s+Images per optimizer step[^\n]*\[default: 32\]");
        help.Should().MatchRegex(@"--ema-decay <number>\s+EMA decay per optimizer step\. \[default: 0\.9995\]");
        help.Should().MatchRegex(@"--time-distribution <text>[^\n]*\[default: logit-normal_0_1\]");
        help.Should().MatchRegex(@"--betas <number \.\.\.>\s+\[default: \[0\.9, 0\.95\]\]");
        help.Should().MatchRegex(@"--schedule\.lr <number>[^\n]*\[default: 0\.0002\]", "nested option classes become dotted options");
        foreach (var property in typeof(Training.TrainJobOptions).GetProperties().Where(p => p.PropertyType.IsValueType || p.PropertyType == typeof(string)))
            help.Should().Contain("--" + Configuration.KeyNames.ToSnakeCase(property.Name).Replace('_', '-') + " ");
    }

    [Fact]
    public void A_run_time_error_with_verbose_exits_1_with_the_stack_trace_and_logs_it_to_run_log()
    {
        var path = host.Pipeline("device: cpu\nencoder: { name: patch-projection }\njobs:\n  - encode: { input: missing.png, output: out.safetensors }\n");
        var runFolder = Path.Combine(host.Folder, "run");
        foreach (var args in new[] { new[] { "-v", "run", path, "--run-dir", runFolder }, ["run", "-v", path, "--run-dir", runFolder] })
        {
            var result = RaeCli.Run(args);
            result.Exit.Should().Be(1, result.ToString());
            result.Error.Should().Contain("rae: run failed: input not found").And.Contain("   at RaePipeline.");
        }
        var log = File.ReadAllText(Path.Combine(runFolder, "run.log"));
        log.Should().Contain("job encode failed").And.Contain("FileNotFoundException");
        log.Should().MatchRegex(@"Debug\s+rae: job encode options: \{", "-v reaches run.log");
        var quiet = RaeCli.Run("run", path, "--run-dir", Path.Combine(host.Folder, "quiet"));
        quiet.Exit.Should().Be(1);
        quiet.Error.Should().Contain("(run with -v for the stack trace)").And.NotContain("   at ");
        File.ReadAllText(Path.Combine(host.Folder, "quiet", "run.log")).Should().NotContain("Debug");
    }

    [Theory]
    [InlineData("--only", "nosuch", "job 'nosuch' is not in this pipeline (its jobs: stats, sample)")]
    [InlineData("--skip", "smaple", "job 'smaple' is not in this pipeline; did you mean 'sample'? (its jobs: stats, sample)")]
    [InlineData("--only", "stats,smaple", "--only smaple: job 'smaple' is not in this pipeline; did you mean 'sample'?")]
    public void Only_and_skip_name_jobs_of_the_pipeline_or_exit_2_naming_the_nearest(string option, string names, string message)
    {
        var path = host.Pipeline(TinyPipelines.Components + "jobs:\n  - stats: {}\n  - sample: {}\n");
        var result = RaeCli.Run("run", path, option, names, "--run-dir", Path.Combine(host.Folder, "run"));
        result.Exit.Should().Be(2, result.ToString());
        result.Error.Should().Contain(message);
        Directory.Exists(Path.Combine(host.Folder, "run")).Should().BeFalse("nothing runs");
    }

    [Theory]
    [InlineData("run", "p.yaml", "--stepz", "3")]
    [InlineData("run")]
    [InlineData("smaple", "p.yaml")]
    [InlineData("train", "p.yaml", "--entry", "one")]
    public void Usage_errors_exit_2(params string[] args)
    {
        var result = RaeCli.Run(args);
        result.Exit.Should().Be(2, result.ToString());
        result.Error.Should().Contain("--help");
    }

    [Fact]
    public void Job_options_are_flags_lists_and_values_that_become_overrides_of_the_job()
    {
        var options = new JobCommandOptions(typeof(Generation.SampleJobOptions), new HashSet<string> { "--seed" });
        var command = new Command("sample");
        options.AddTo(command);
        (string, string, string)[] Given(string line) => options.Given(command.Parse(line)).ToArray();

        Given("--write-pngs").Should().Equal(("write_pngs", "true", "--write-pngs"));
        Given("--write-pngs false").Should().Equal(("write_pngs", "false", "--write-pngs false"));
        Given("--classes 1 2 3").Should().Equal(("classes", "[1, 2, 3]", "--classes 1 2 3"));
        Given("--num-images 16 --output \"a: b\"").Should().Equal(("num_images", "16", "--num-images 16"), ("output", "\"a: b\"", "--output a: b"));
        options.ViaSetOnly.Should().Equal("seed");
    }

    [Fact]
    public void Completion_script_asks_rae_through_the_suggest_directive()
    {
        var script = RaeCli.Run("completion", "bash");
        script.Exit.Should().Be(0);
        script.Output.Should().Contain("rae \"[suggest:${COMP_POINT}]\" \"${COMP_LINE}\"").And.Contain("complete -o default");
        var suggestions = RaeCli.Run("[suggest:20]", "rae run p.yaml --on");
        suggestions.Output.Split('\n').Should().Contain("--only");
        RaeCli.Run("[suggest:10]", "rae trai").Output.Split('\n').Should().Contain(["train", "train-decoder"]);
    }
}
