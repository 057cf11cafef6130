using Microsoft.Extensions.Logging;

namespace RaePipeline.Host.Logging;

/// <summary>
/// The run's <c>run.log</c>: a logger provider of the host's logging that appends every line (time, level,
/// category, message, exception) to the log file of the run in progress, so loggers injected into jobs and
/// components (<c>ILogger&lt;T&gt;</c>) reach it as well. Which levels it receives is the logging's filter:
/// Information by default, Debug with <c>-v</c>. A nested run (<c>compare</c>) writes to its own file while it runs.
/// </summary>
public sealed class RunLogProvider : ILoggerProvider
{
    /// <summary>Category of a job's failure with its stack trace: run.log only, the command prints the failure itself.</summary>
    public const string FailureCategory = "rae.failure";

    readonly Stack<StreamWriter> files = new();
    readonly object gate = new();

    /// <summary>Sends log lines to <paramref name="path"/> (appending) until the returned handle is disposed.</summary>
    public IDisposable Open(string path)
    {
        var writer = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read)) { AutoFlush = true };
        lock (gate) files.Push(writer);
        return new Handle(this, writer);
    }

    public ILogger CreateLogger(string categoryName) => new RunLogger(this, categoryName);

    public void Dispose()
    {
        lock (gate)
            while (files.Count > 0) files.Pop().Dispose();
    }

    void Write(string line)
    {
        lock (gate)
            if (files.TryPeek(out var writer)) writer.WriteLine(line);
    }

    void Close(StreamWriter writer)
    {
        lock (gate)
        {
            if (files.TryPeek(out var top) && top == writer) files.Pop();
            writer.Dispose();
        }
    }

    sealed class Handle(RunLogProvider provider, StreamWriter writer) : IDisposable
    {
        public void Dispose() => provider.Close(writer);
    }

    sealed class RunLogger(RunLogProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

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
