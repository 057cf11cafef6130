using Microsoft.Extensions.Logging;

namespace RaePipeline.Distributed;

/// <summary>
/// The log of a rank other than the main one in a run of several processes: only warnings and errors reach
/// <paramref name="inner"/>, each prefixed with the rank (<c>[rank 1] ...</c>), so the run logs once (rank 0) and
/// still shows every rank's trouble.
/// </summary>
public sealed class RankLoggerProvider(ILoggerProvider inner, int rank, LogLevel minimum = LogLevel.Warning) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new RankLogger(inner.CreateLogger(categoryName), rank, minimum);

    public void Dispose() { }

    sealed class RankLogger(ILogger inner, int rank, LogLevel minimum) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum && logLevel != LogLevel.None && inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
                inner.Log(logLevel, eventId, state, exception, (s, e) => $"[rank {rank}] {formatter(s, e)}");
        }
    }
}
