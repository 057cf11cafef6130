namespace RaePipeline.Data;

/// <summary>Data that cannot be opened or does not have the expected layout; the message names the path and what was wrong.</summary>
public sealed class DatasetException(string message, string? path = null, Exception? inner = null) : Exception(message, inner)
{
    public string? Path { get; } = path;
}
