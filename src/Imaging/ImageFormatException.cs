namespace RaePipeline.Imaging;

/// <summary>An image file that cannot be decoded as PIL would decode it (corrupt, truncated, unsupported); the message names the file.</summary>
public sealed class ImageFormatException(string message, string filePath, Exception? inner = null) : Exception(message, inner)
{
    public string FilePath { get; } = filePath;
}
