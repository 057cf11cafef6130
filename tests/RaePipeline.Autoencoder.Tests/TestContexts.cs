using RaePipeline.Abstractions;
using static TorchSharp.torch;

namespace RaePipeline.Autoencoder.Tests;

static class TestContexts
{
    public static ComponentContext For(string? weightsPath, string baseDirectory, long seed = 0,
        ImageNormalization? encoderNormalization = null, LatentShape? encoderLatent = null) => new()
    {
        Device = CPU,
        Seed = seed,
        WeightsPath = weightsPath,
        BaseDirectory = baseDirectory,
        EncoderImageNormalization = encoderNormalization,
        EncoderLatent = encoderLatent,
    };

    public static ImageNormalization Normalization(ParityCase c) =>
        new(c.GetArray<float>("image_mean"), c.GetArray<float>("image_std"));
}
