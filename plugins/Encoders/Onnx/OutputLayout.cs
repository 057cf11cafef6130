using RaePipeline.Abstractions;
using RaePipeline.VisionTransformers;
using static TorchSharp.torch;

namespace RaePipeline.Encoders.Onnx;

/// <summary>
/// How a fetched value becomes a latent grid: <c>maps</c> (B, C, h, w) as they are; <c>tokens</c> (B, N, C) with the
/// first <c>drop_tokens</c> dropped (CLS, registers) and the rest laid row-major on a square grid.
/// </summary>
public sealed class OutputLayout
{
    public const string Auto = "auto", Tokens = "tokens", Maps = "maps";

    readonly bool tokens;
    readonly int dropTokens;

    OutputLayout(bool tokens, int dropTokens, LatentShape latent)
    {
        this.tokens = tokens;
        this.dropTokens = dropTokens;
        Latent = latent;
    }

    public LatentShape Latent { get; }

    /// <summary>
    /// The layout of a value whose samples have dimensions <paramref name="sample"/> (the batch dimension left out).
    /// Errors name the model file and the value.
    /// </summary>
    public static OutputLayout Resolve(string layout, int dropTokens, IReadOnlyList<long> sample, string value, string path)
    {
        string shape = $"(B, {string.Join(", ", sample)})";
        bool isTokens = layout switch
        {
            Auto when sample.Count == 2 => true,
            Auto when sample.Count == 3 => false,
            Auto => throw new ComponentConfigurationException(
                $"{path}: value '{value}' is {shape}, neither tokens (B, N, C) nor maps (B, C, h, w); pick another node", "node", path),
            Tokens => true,
            Maps => false,
            _ => throw new ComponentConfigurationException($"layout must be '{Auto}', '{Tokens}' or '{Maps}', got '{layout}'", "layout"),
        };
        if (dropTokens < 0)
            throw new ComponentConfigurationException($"drop_tokens must be 0 or positive, got {dropTokens}", "drop_tokens");
        if (!isTokens)
        {
            if (sample.Count != 3)
                throw new ComponentConfigurationException($"{path}: value '{value}' is {shape}, not maps (B, C, h, w)", "layout", path);
            if (dropTokens != 0)
                throw new ComponentConfigurationException($"drop_tokens applies to token outputs; value '{value}' is maps {shape}", "drop_tokens", path);
            return new OutputLayout(false, 0, new LatentShape((int)sample[0], (int)sample[1], (int)sample[2]));
        }
        if (sample.Count != 2)
            throw new ComponentConfigurationException($"{path}: value '{value}' is {shape}, not tokens (B, N, C)", "layout", path);
        long kept = sample[0] - dropTokens;
        long side = (long)Math.Round(Math.Sqrt(Math.Max(kept, 0)));
        if (kept < 1 || side * side != kept)
            throw new ComponentConfigurationException(
                $"{path}: value '{value}' has {sample[0]} tokens; after dropping {dropTokens} the {kept} left do not form a square grid (set drop_tokens to the CLS/register count)",
                "drop_tokens", path);
        return new OutputLayout(true, dropTokens, new LatentShape((int)sample[1], (int)side, (int)side));
    }

    /// <summary>output: (B, N, C) or (B, C, h, w) as fetched -> (B, C, h, w).</summary>
    public Tensor ToGrid(Tensor output)
    {
        if (!tokens) return output.alias();
        var kept = output.narrow(1, dropTokens, output.shape[1] - dropTokens);
        return PatchLayout.TokensToGrid(kept, Latent.Height, Latent.Width);
    }
}
