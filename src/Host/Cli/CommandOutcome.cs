using System.CommandLine;
using RaePipeline.Host.Configuration;
using RaePipeline.Host.Plugins;

namespace RaePipeline.Host.Cli;

/// <summary>
/// Runs a command's work and turns its end into the exit code: 0 done; 2 the pipeline or the command line is
/// invalid (every problem printed with its location); 1 the run failed (the message, and with <c>-v</c> the stack
/// trace; never an exception escaping to the runtime, which would abort the process).
/// </summary>
sealed class CommandOutcome(TextWriter error)
{
    public const int Success = 0;
    public const int RunFailed = 1;
    public const int Invalid = 2;

    public int Of(ParseResult result, Option<bool> verbose, Action work)
    {
        try
        {
            work();
            return Success;
        }
        catch (PipelineConfigurationException e)
        {
            foreach (var problem in e.Problems) error.WriteLine(problem);
            return Invalid;
        }
        catch (PluginLoadException e)
        {
            error.WriteLine($"rae: {e.Message}");
            return Invalid;
        }
        catch (Exception e)
        {
            error.WriteLine($"rae: {result.CommandResult.Command.Name} failed: {e.Message}");
            error.WriteLine(result.GetValue(verbose) ? e.ToString() : "(run with -v for the stack trace)");
            return RunFailed;
        }
    }
}
