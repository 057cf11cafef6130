using System.CommandLine;
using System.CommandLine.Completions;
using System.CommandLine.Help;
using RaePipeline.Host.Configuration;
using RaePipeline.Host.Plugins;
using RaePipeline.Host.Running;
using RaePipeline.Pipeline;
using YamlDotNet.RepresentationModel;

namespace RaePipeline.Host.Cli;

/// <summary>
/// The <c>rae</c> commands on System.CommandLine: <c>run</c>, <c>validate</c>, <c>plugins</c>, <c>jobs</c>,
/// <c>completion</c>, and one command per job (<c>rae train p.yaml --steps 100</c>) whose options come from the
/// job's options class. Every command has <c>-h/--help</c>; <c>-v</c> works anywhere. The actions return the exit
/// code through <see cref="CommandOutcome"/>: 0 success, 1 a run failed, 2 the command line or the pipeline is invalid.
/// </summary>
sealed class RaeCommandLine
{
    readonly PipelineRunner runner;
    readonly TextWriter output;
    readonly Option<bool> verbose = new("--verbose", "-v") { Recursive = true, Description = "Debug logging (console and run.log) and stack traces of failures" };
    readonly Argument<string> pipeline = new("pipeline") { Description = "The pipeline file (YAML)" };
    readonly Option<string> device = new("--device") { HelpName = "auto|cpu|cuda|cuda:N", Description = "Override the pipeline's device" };
    readonly Option<string> precision = new("--precision") { HelpName = "fp32|bf16|fp16", Description = "Override the pipeline's compute precision (fp16: CUDA only)" };
    readonly Option<string> seed = new("--seed") { HelpName = "N", Description = "Override the pipeline's seed" };
    readonly Option<string[]> set = new("--set")
    {
        HelpName = "path.to.key=value",
        Description = "Override any value of the pipeline (repeatable); jobs.<job>.<key> sets it in every entry of that job, jobs.<job>[n].<key> in the n-th only (from 0)",
    };
    readonly Option<string> runDirectory = new("--run-dir") { HelpName = "folder", Description = "Run folder (default: the pipeline's output, or runs/<name>)" };

    public RaeCommandLine(PipelineRunner runner, TextWriter output, TextWriter error)
    {
        this.runner = runner;
        this.output = output;
        Outcome = new CommandOutcome(error);
        Root = new RootCommand(
            "rae: pipelines for Diffusion Transformers with Representation Autoencoders.\n" +
            "Plugin folders: plugins/ beside rae, RAE_PLUGIN_PATH, and the pipeline's `plugins:` list.") { HelpName = "rae" };
        Root.Options.Add(verbose);
        Root.SetAction(result => new HelpAction().Invoke(result));
        Root.Subcommands.Add(RunCommand());
        Root.Subcommands.Add(ValidateCommand());
        Root.Subcommands.Add(PluginsCommand());
        Root.Subcommands.Add(JobsCommand());
        Root.Subcommands.Add(CompletionCommand());
        foreach (var job in runner.Jobs.All.OrderBy(j => j.Name, StringComparer.Ordinal))
            Root.Subcommands.Add(JobCommand(job));
    }

    public RootCommand Root { get; }

    public Option<bool> Verbose => verbose;

    public CommandOutcome Outcome { get; }

    Command PipelineCommand(string name, string description) => new(name, description) { pipeline, device, precision, seed, set };

    Command RunCommand()
    {
        var only = JobNamesOption("--only", "Run only these jobs of the pipeline (names, comma-separated or repeated)");
        var skip = JobNamesOption("--skip", "Skip these jobs of the pipeline");
        var command = PipelineCommand("run", "Run the pipeline's jobs in order");
        command.Options.Add(runDirectory);
        command.Options.Add(only);
        command.Options.Add(skip);
        command.SetAction(result => Outcome.Of(result, verbose, () =>
        {
            var selection = new JobSelection { Only = Names(result.GetValue(only)), Skip = Names(result.GetValue(skip)) };
            var summary = runner.Run(result.GetValue(pipeline)!, Overrides(result), result.GetValue(runDirectory), selection);
            if (Distributed.ProcessGroup.World.IsMain) // every rank runs the pipeline; rank 0 speaks for the run
                output.WriteLine($"run finished in {summary.WallTime.TotalSeconds:F1} s: {summary.RunDirectory}");
        }));
        return command;
    }

    Command ValidateCommand()
    {
        var command = PipelineCommand("validate", "Check the pipeline (keys, plugins, files, shapes, data, jobs) without running anything heavy");
        command.SetAction(result => Outcome.Of(result, verbose, () =>
        {
            var plan = runner.Plan(result.GetValue(pipeline)!, Overrides(result));
            output.WriteLine($"{plan.Yaml.File}: valid ({plan.Components.Count} components, jobs: {string.Join(", ", plan.Jobs.Select(j => j.Job.Name))})");
            foreach (var warning in plan.Warnings) output.WriteLine($"warning: {warning}");
        }));
        return command;
    }

    Command PluginsCommand()
    {
        var command = new Command("plugins", "List the installed components by role, with their plugin assembly and versions");
        command.SetAction(result => Outcome.Of(result, verbose, () =>
        {
            runner.LoadDefaultPlugins();
            PluginListing.Write(output, runner.Catalog, runner.PluginFailures);
        }));
        return command;
    }

    Command JobsCommand()
    {
        var command = new Command("jobs", "List the jobs a pipeline can name (rae <job> --help shows a job's options)");
        command.SetAction(result => Outcome.Of(result, verbose, () =>
        {
            foreach (var job in runner.Jobs.All.OrderBy(j => j.Name, StringComparer.Ordinal))
                output.WriteLine($"{job.Name,-16} {job.Description}");
        }));
        return command;
    }

    Command CompletionCommand()
    {
        var shell = new Argument<string>("shell") { Description = "bash or zsh", DefaultValueFactory = _ => "bash" };
        shell.AcceptOnlyFromAmong(CompletionScript.Shells);
        var command = new Command("completion", "Print the tab-completion script for a shell: eval \"$(rae completion bash)\"") { shell };
        command.SetAction(result => output.Write(CompletionScript.For(result.GetValue(shell)!)));
        return command;
    }

    /// <summary><c>rae &lt;job&gt; p.yaml --option value</c>: only that job, with its entries in the file (or a new one) given these options.</summary>
    Command JobCommand(IJob job)
    {
        var entry = new Option<int?>("--entry")
        {
            HelpName = "n",
            Description = $"Run only the n-th '{job.Name}' entry of the pipeline's jobs (from 0) and give the options to it; without it every '{job.Name}' entry runs and gets them",
        };
        var reserved = new HashSet<string>(["--device", "--precision", "--seed", "--set", "--run-dir", "--entry", "--verbose", "--help"], StringComparer.Ordinal);
        var options = new JobCommandOptions(job.OptionsType, reserved);
        var viaSet = options.ViaSetOnly.Count == 0 ? ""
            : $"\nSet with --set jobs.{job.Name}.<key>=<value>: {string.Join(", ", options.ViaSetOnly)}.";
        var command = PipelineCommand(job.Name, $"Job: {job.Description}.{viaSet}");
        command.Options.Add(runDirectory);
        command.Options.Add(entry);
        options.AddTo(command);
        command.SetAction(result => Outcome.Of(result, verbose, () =>
        {
            var path = result.GetValue(pipeline)!;
            var overrides = Overrides(result).ToList();
            var jobs = PipelineYaml.ValueNode(PipelineYaml.Load(path, overrides).Root, "jobs") as YamlSequenceNode;
            if (jobs?.Children.OfType<YamlMappingNode>().Any(m => m.Children.Keys.OfType<YamlScalarNode>().Any(k => k.Value == job.Name)) != true) overrides.Add(new PipelineOverride($"jobs=[{{{job.Name}: {{}}}}]", $"rae {job.Name}"));
            var at = result.GetValue(entry) is { } n ? $"[{n}]" : "";
            overrides.AddRange(options.Given(result).Select(o => new PipelineOverride($"jobs.{job.Name}{at}.{o.Path}={o.Value}", o.Origin)));
            var selection = new JobSelection { Only = [job.Name], Entry = result.GetValue(entry) };
            var summary = runner.Run(path, overrides, result.GetValue(runDirectory), selection);
            output.WriteLine($"{job.Name} finished in {summary.WallTime.TotalSeconds:F1} s: {summary.RunDirectory}");
        }));
        return command;
    }

    Option<string[]> JobNamesOption(string name, string description)
    {
        var option = new Option<string[]>(name) { HelpName = "job,...", Description = description };
        option.CompletionSources.Add(_ => runner.Jobs.Names.Select(n => new CompletionItem(n)));
        return option;
    }

    /// <summary><c>--device</c>, <c>--precision</c>, <c>--seed</c> and <c>--set</c> as overrides that remember their argument.</summary>
    IReadOnlyList<PipelineOverride> Overrides(ParseResult result)
    {
        var overrides = new List<PipelineOverride>();
        if (result.GetValue(device) is { } d) overrides.Add(new PipelineOverride($"device={d}", $"--device {d}"));
        if (result.GetValue(precision) is { } p) overrides.Add(new PipelineOverride($"precision={p}", $"--precision {p}"));
        if (result.GetValue(seed) is { } s) overrides.Add(new PipelineOverride($"seed={s}", $"--seed {s}"));
        overrides.AddRange(PipelineOverride.Set(result.GetValue(set) ?? []));
        return overrides;
    }

    static IReadOnlyList<string> Names(string[]? values) =>
        (values ?? []).SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();
}
