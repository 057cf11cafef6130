namespace ThirdPartyEncoder;

/// <summary>The YAML options of <c>patch-projection</c> (keys in snake_case).</summary>
public sealed class PatchProjectionOptions
{
    public int InputSize { get; set; } = 32;
    public int PatchSize { get; set; } = 8;
    public int Channels { get; set; } = 16;
}
