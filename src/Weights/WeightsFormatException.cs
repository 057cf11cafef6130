namespace RaePipeline.Weights;

/// <summary>A weights or array file that cannot be read or does not match what was expected; the message names the file.</summary>
public sealed class WeightsFormatException(string message, string? filePath = null, Exception? inner = null)
    : Exception(message, inner)
{
    public string? FilePath { get; } = filePath;
}
