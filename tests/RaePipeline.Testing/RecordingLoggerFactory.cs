using Microsoft.Extensions.Logging;

namespace RaePipeline.Testing;

/// <summary>Keeps every log line (level and text) so tests can check what a job told the user.</summary>
public sealed class RecordingLoggerFactory : ILoggerFactory
{
    readonly List<(LogLevel Level, string Message)> lines = [];

    public IReadOnlyList<(LogLevel Level, string Message)> Lines
    {
        get { lock (lines) return lines.ToList(); }
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void AddProvider(ILoggerProvider provider) { }

    public void Dispose() { }

    sealed class Logger(RecordingLoggerFactory owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (owner.lines) owner.lines.Add((logLevel, formatter(state, exception)));
        }
    }
}
