using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RaePipeline.Host.Configuration;
using RaePipeline.Host.Plugins;
using RaePipeline.Host.Running;
using RaePipeline.Pipeline;

namespace RaePipeline.Host;

/// <summary>The <c>rae</c> commands. Exit codes: 0 success, 1 a job failed, 2 the pipeline or the arguments are invalid.</summary>
public static class RaeCommand
{
    public static int Run(string[] args, TextWriter output, TextWriter error, ProgressReporter progress,
        Action<ILoggingBuilder>? configureLogging = null)
    {
        CommandLine line;
        try
        {
            line = CommandLine.Parse(args);
        }
        catch (ArgumentException e)
        {
            error.WriteLine($"rae: {e.Message}");
            error.WriteLine(CommandLine.Usage);
            return 2;
        }
        if (line.Command is "help" or "--help" or "-h")
        {
            output.WriteLine(CommandLine.Usage);
            return 0;
        }
        using var services = HostServices.Create(line.Verbose ? LogLevel.Debug : LogLevel.Information, progress, configureLogging);
        var runner = services.GetRequiredService<PipelineRunner>();
        try
        {
            switch (line.Command)
            {
                case "plugins":
                    runner.LoadDefaultPlugins();
                    PluginListing.Write(output, runner.Catalog);
                    return 0;
                case "jobs":
                    foreach (var job in runner.Jobs.All.OrderBy(j => j.Name, StringComparer.Ordinal))
                        output.WriteLine($"{job.Name,-16} {job.Description}");
                    return 0;
                case "validate":
                {
                    var plan = runner.Plan(RequirePipeline(line), line.Overrides);
                    output.WriteLine($"{plan.Yaml.File}: valid ({plan.Components.Count} components, jobs: {string.Join(", ", plan.Jobs.Select(j => j.Job.Name))})");
                    foreach (var warning in plan.Warnings) output.WriteLine($"warning: {warning}");
                    return 0;
                }
                case "run":
                {
                    var skip = new HashSet<string>(line.Skip);
                    if (line.Only.Count > 0)
                        skip.UnionWith(runner.Jobs.Names.Where(n => !line.Only.Contains(n)));
                    var summary = runner.Run(RequirePipeline(line), line.Overrides, line.RunDirectory, skip);
                    output.WriteLine($"run finished in {summary.WallTime.TotalSeconds:F1} s: {summary.RunDirectory}");
                    return 0;
                }
                default:
                    return RunSingleJob(line, runner, output, error);
            }
        }
        catch (PipelineConfigurationException e)
        {
            foreach (var problem in e.Problems) error.WriteLine(problem);
            return 2;
        }
        catch (PluginLoadException e)
        {
            error.WriteLine($"rae: {e.Message}");
            return 2;
        }
        catch (Exception e) when (!line.Verbose)
        {
            error.WriteLine($"rae: {line.Command} failed: {e.Message}");
            error.WriteLine("(run with -v for the stack trace)");
            return 1;
        }
    }

    /// <summary>
    /// <c>rae &lt;job&gt; pipeline.yaml --key value</c>: runs only that job; its block in the file (if any) gets the
    /// command-line options, otherwise a block is added with them.
    /// </summary>
    static int RunSingleJob(CommandLine line, PipelineRunner runner, TextWriter output, TextWriter error)
    {
        var job = runner.Jobs.Find(line.Command);
        if (job == null)
        {
            error.WriteLine($"rae: {KeyNames.Unknown("command", line.Command, ["run", "validate", "plugins", "jobs", .. runner.Jobs.Names])}");
            return 2;
        }
        var path = RequirePipeline(line);
        var yaml = PipelineYaml.Load(path, line.Overrides);
        bool present = (Composition.PipelinePlanner.ValueNode(yaml.Root, "jobs") as YamlDotNet.RepresentationModel.YamlSequenceNode)?
            .Children.OfType<YamlDotNet.RepresentationModel.YamlMappingNode>()
            .Any(m => m.Children.Keys.OfType<YamlDotNet.RepresentationModel.YamlScalarNode>().Any(k => k.Value == job.Name)) ?? false;
        var overrides = new List<string>(line.Overrides);
        if (!present) overrides.Add($"jobs=[{{{job.Name}: {{}}}}]");
        overrides.AddRange(line.JobOptions.Select(o => $"jobs.{job.Name}.{o.Key}={o.Value}"));
        var skip = runner.Jobs.Names.Where(n => n != job.Name).ToHashSet();
        var summary = runner.Run(path, overrides, line.RunDirectory, skip);
        output.WriteLine($"{job.Name} finished in {summary.WallTime.TotalSeconds:F1} s: {summary.RunDirectory}");
        return 0;
    }

    static string RequirePipeline(CommandLine line) =>
        line.PipelinePath ?? throw new ArgumentException($"'rae {line.Command}' needs a pipeline file");
}
