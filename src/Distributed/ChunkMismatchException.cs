namespace RaePipeline.Distributed;

/// <summary>A chunk folder holds partial results written with other settings; <see cref="Folder"/> is that folder.</summary>
public sealed class ChunkMismatchException(string message, string folder) : InvalidOperationException(message)
{
    public string Folder { get; } = folder;
}
