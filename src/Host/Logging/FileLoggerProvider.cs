using Microsoft.Extensions.Logging;

namespace RaePipeline.Host.Logging;

/// <summary>Appends log lines (time, level, category, message) to a file in the run folder.</summary>
public sealed class FileLoggerProvider(string path) : ILoggerProvider
{
    readonly StreamWriter writer = new(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read)) { AutoFlush = true };
    readonly object gate = new();

    public ILogger CreateLogger(string categoryName) => new FileLogger(this, categoryName);

    public void Dispose() => writer.Dispose();

    void Write(string line)
    {
        lock (gate) writer.WriteLine(line);
    }

    sealed class FileLogger(FileLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception,
            Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            var line = $"{DateTime.UtcNow:yyyy-MM-dd HH:mm:ss.fff}Z {logLevel,-11} {category}: {formatter(state, exception)}";
            if (exception != null) line += Environment.NewLine + exception;
            provider.Write(line);
        }
    }
}
