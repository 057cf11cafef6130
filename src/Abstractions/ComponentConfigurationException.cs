namespace RaePipeline.Abstractions;

/// <summary>
/// Thrown by a component factory for bad options or files. <see cref="OptionKey"/> names the option (as written
/// in YAML, e.g. <c>preset</c>) so the host can point at its line and column; <see cref="FilePath"/> names the
/// offending file when there is one.
/// </summary>
public sealed class ComponentConfigurationException(string message, string? optionKey = null, string? filePath = null)
    : Exception(message)
{
    public string? OptionKey { get; } = optionKey;
    public string? FilePath { get; } = filePath;
}
