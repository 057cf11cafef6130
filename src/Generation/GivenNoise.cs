using RaePipeline.Abstractions;
using RaePipeline.Weights;
using static TorchSharp.torch;

namespace RaePipeline.Generation;

/// <summary>Initial noise read from a safetensors file: tensor <c>noise</c> (N, C, h, w), optional <c>labels</c> (N,).</summary>
public sealed class GivenNoise : IDisposable
{
    public GivenNoise(string path, LatentShape latent)
    {
        var tensors = SafeTensorsFile.Read(path);
        if (!tensors.TryGetValue("noise", out var noise))
            throw new WeightsFormatException($"{path}: no tensor 'noise' (found: {string.Join(", ", tensors.Keys)})", path);
        if (noise.dim() != 4 || noise.shape[1] != latent.Channels || noise.shape[2] != latent.Height || noise.shape[3] != latent.Width)
            throw new WeightsFormatException(
                $"{path}: tensor 'noise' has shape [{string.Join(", ", noise.shape)}], expected (N, {latent.Channels}, {latent.Height}, {latent.Width})", path);
        Noise = noise.to(float32);
        if (tensors.TryGetValue("labels", out var labels))
        {
            if (labels.dim() != 1 || labels.shape[0] != noise.shape[0])
                throw new WeightsFormatException(
                    $"{path}: tensor 'labels' has shape [{string.Join(", ", labels.shape)}], expected ({noise.shape[0]},)", path);
            Labels = labels.to(int64);
        }
    }

    public Tensor Noise { get; }

    public Tensor? Labels { get; }

    public int Count => (int)Noise.shape[0];

    public void Dispose()
    {
        Noise.Dispose();
        Labels?.Dispose();
    }
}
