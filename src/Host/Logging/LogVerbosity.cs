using Microsoft.Extensions.Logging;

namespace RaePipeline.Host.Logging;

/// <summary>
/// How much the host logs, settable after the services are composed (the command line is parsed with them):
/// <see cref="Minimum"/> for the console; run.log always gets Information and more, and Debug when the console does.
/// </summary>
public sealed class LogVerbosity(LogLevel minimum)
{
    public LogLevel Minimum { get; set; } = minimum;

    public LogLevel RunLog => Minimum < LogLevel.Information ? Minimum : LogLevel.Information;

    /// <summary>Only warnings and errors, whatever <see cref="Minimum"/> says (ranks other than 0 of a multi-process run).</summary>
    public bool OnlyProblems { get; init; }

    /// <summary>The filter of the host's logging: run.log by <see cref="RunLog"/>, every other provider by <see cref="Minimum"/>.</summary>
    public bool Allows(string? provider, LogLevel level) =>
        level >= (provider == typeof(RunLogProvider).FullName ? RunLog : Minimum) && (!OnlyProblems || level >= LogLevel.Warning);
}
