using System.Text.Json.Nodes;
using RaePipeline.Abstractions;

namespace RaePipeline.VisionTransformers;

/// <summary>
/// The image mean/std an encoder normalizes with: options <c>image_mean</c>/<c>image_std</c> first, then the model
/// folder's <c>preprocessor_config.json</c>, then the family's default.
/// </summary>
public static class ImageNormalizationSource
{
    public static ImageNormalization Resolve(float[]? meanOption, float[]? stdOption, string? modelFolder,
        ImageNormalization familyDefault)
    {
        float[]? mean = meanOption, std = stdOption;
        var path = modelFolder == null ? null : Path.Combine(modelFolder, "preprocessor_config.json");
        if ((mean == null || std == null) && path != null && File.Exists(path))
        {
            var json = JsonNode.Parse(File.ReadAllText(path))?.AsObject()
                       ?? throw new ComponentConfigurationException($"{path}: empty JSON", "weights", path);
            mean ??= Triple(json, "image_mean", path);
            std ??= Triple(json, "image_std", path);
        }
        mean ??= familyDefault.Mean;
        std ??= familyDefault.Std;
        Check(mean, "image_mean");
        Check(std, "image_std");
        if (std.Any(s => s <= 0))
            throw new ComponentConfigurationException($"image_std must be positive, got ({string.Join(", ", std)})", "image_std");
        return new ImageNormalization(mean, std);
    }

    static float[]? Triple(JsonObject json, string key, string path)
    {
        if (json[key] is not JsonArray array) return null;
        if (array.Count != 3)
            throw new ComponentConfigurationException($"{path}: {key} has {array.Count} values, expected 3 (RGB)", "weights", path);
        return array.Select(v => (float)v!.GetValue<double>()).ToArray();
    }

    static void Check(float[] values, string option)
    {
        if (values.Length != 3)
            throw new ComponentConfigurationException($"{option} needs 3 values (RGB), got {values.Length}", option);
    }
}
