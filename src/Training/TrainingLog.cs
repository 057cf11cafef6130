using System.Globalization;
using Microsoft.Extensions.Logging;

namespace RaePipeline.Training;

/// <summary>Messages of a training run, to the pipeline's logger and appended to a log file in the run folder.</summary>
public sealed class TrainingLog : IDisposable
{
    readonly ILogger logger;
    readonly StreamWriter file;

    public TrainingLog(ILogger logger, string path)
    {
        this.logger = logger;
        Path = path;
        file = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read)) { AutoFlush = true };
    }

    public string Path { get; }

    public void Info(string message)
    {
        logger.LogInformation("{Message}", message);
        Write("INFO", message);
    }

    public void Warning(string message)
    {
        logger.LogWarning("{Message}", message);
        Write("WARN", message);
    }

    void Write(string level, string message) =>
        file.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{DateTime.UtcNow:yyyy-MM-ddTHH:mm:ss.fffZ} {level} {message}"));

    public void Dispose() => file.Dispose();
}
