using System.CommandLine;
using System.CommandLine.Invocation;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RaePipeline.Host.Cli;
using RaePipeline.Host.Logging;
using RaePipeline.Host.Running;
using RaePipeline.Pipeline;

namespace RaePipeline.Host;

/// <summary>
/// The <c>rae</c> command: composes the host, parses the command line (<see cref="RaeCommandLine"/>) and runs the
/// command. Exit codes: 0 success (help included), 1 a run failed, 2 the command line or the pipeline is invalid.
/// </summary>
public static class RaeCommand
{
    public static int Run(string[] args, TextWriter output, TextWriter error, ProgressReporter progress,
        Action<ILoggingBuilder>? configureLogging = null)
    {
        using var services = HostServices.Create(LogLevel.Information, progress, configureLogging);
        var commandLine = new RaeCommandLine(services.GetRequiredService<PipelineRunner>(), output, error);
        var result = commandLine.Root.Parse(args);
        if (result.GetValue(commandLine.Verbose)) services.GetRequiredService<LogVerbosity>().Minimum = LogLevel.Debug;
        var configuration = new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false };
        if (result.Action is ParseErrorAction parseError)
        {
            parseError.ShowHelp = false;
            result.Invoke(configuration);
            error.WriteLine($"(see 'rae {(result.CommandResult.Command is RootCommand ? "" : result.CommandResult.Command.Name + " ")}--help')");
            return CommandOutcome.Invalid;
        }
        return result.Invoke(configuration);
    }
}
