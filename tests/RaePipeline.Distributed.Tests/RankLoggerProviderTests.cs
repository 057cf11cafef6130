using Microsoft.Extensions.Logging;

namespace RaePipeline.Distributed.Tests;

/// <summary>Ranks other than 0 log only warnings and errors, marked with their rank.</summary>
public class RankLoggerProviderTests
{
    sealed class Recorder : ILoggerProvider, ILogger
    {
        public List<(LogLevel Level, string Message)> Lines { get; } = [];
        public ILogger CreateLogger(string categoryName) => this;
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Add((logLevel, formatter(state, exception)));
        public void Dispose() { }
    }

    [Fact]
    public void Information_is_dropped_and_warnings_carry_the_rank()
    {
        var recorder = new Recorder();
        using var factory = LoggerFactory.Create(b => b.AddProvider(new RankLoggerProvider(recorder, 3)).SetMinimumLevel(LogLevel.Trace));
        var logger = factory.CreateLogger("train");
        logger.LogInformation("step {Step}", 10);
        logger.LogWarning("slow data on {Host}", "node7");
        logger.LogError("failed");
        recorder.Lines.Should().Equal([(LogLevel.Warning, "[rank 3] slow data on node7"), (LogLevel.Error, "[rank 3] failed")]);
    }
}
