using System.Collections.Concurrent;
using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;

namespace RaePipeline.Benchmarks;

/// <summary>
/// A logging provider that reads the process's RSS whenever the train job logs a step line
/// (<c>step N/M loss ...</c>, every <c>log_every</c> steps), so the figures come from inside the running job.
/// </summary>
sealed partial class StepMemoryLog : ILoggerProvider, ILogger
{
    public ConcurrentDictionary<long, double> ResidentMiBAtStep { get; } = new();

    public ILogger CreateLogger(string categoryName) => this;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        var match = StepLine().Match(formatter(state, exception));
        if (!match.Success) return;
        long step = long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        double resident = ProcessMemory.ResidentMiB();
        ResidentMiBAtStep[step] = resident;
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"step {step}: VmRSS {resident:F1} MiB"));
    }

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public void Dispose() { }

    [GeneratedRegex(@"^step (\d+)/\d+ loss ")]
    private static partial Regex StepLine();
}
