namespace RaePipeline.Backbones.DiffusionTransformers;

/// <summary>
/// Named sizes, as data: backbones S/B/L/XL (DiT/SiT/LightningDiT sizes, also the DiT^DH backbones) and the DDT head
/// of DiT^DH (the paper's 2048 wide, 2 deep, 16 heads for every backbone).
/// </summary>
public static class SizePresets
{
    public static IReadOnlyDictionary<string, TransformerSize> Backbones { get; } =
        new Dictionary<string, TransformerSize>(StringComparer.OrdinalIgnoreCase)
        {
            ["S"] = new(384, 12, 6),
            ["B"] = new(768, 12, 12),
            ["L"] = new(1024, 24, 16),
            ["XL"] = new(1152, 28, 16),
        };

    public static IReadOnlyDictionary<string, TransformerSize> Heads { get; } =
        new Dictionary<string, TransformerSize>(StringComparer.OrdinalIgnoreCase)
        {
            ["default"] = new(2048, 2, 16),
        };

    /// <summary>The official constructors' default size (XL) and head.</summary>
    public const string DefaultBackbone = "XL";
    public const string DefaultHead = "default";

    public static TransformerSize Backbone(string name, string optionKey = "preset") =>
        Find(Backbones, name, optionKey, "backbone");

    public static TransformerSize Head(string name, string optionKey = "head_preset") =>
        Find(Heads, name, optionKey, "DDT head");

    static TransformerSize Find(IReadOnlyDictionary<string, TransformerSize> table, string name, string optionKey, string what) =>
        table.TryGetValue(name, out var size)
            ? size
            : throw new RaePipeline.Abstractions.ComponentConfigurationException(
                $"unknown {what} preset '{name}' (known: {string.Join(", ", table.Keys)})", optionKey);
}
