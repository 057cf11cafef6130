using RaePipeline.Abstractions;
using RaePipeline.Metrics;
using static TorchSharp.torch;

namespace RaePipeline.Metrics.Tests;

public class EncoderFeatureExtractorTests
{
    /// <summary>An encoder whose latent is the image's per-channel values tiled to C = 6 channels on a 2x2 grid.</summary>
    sealed class TilingEncoder : IEncoder
    {
        public LatentShape LatentShape => new(6, 2, 2);
        public int InputSize => 4;
        public ImageNormalization ImageNormalization => ImageNormalization.Half;
        public bool Disposed { get; private set; }

        public Tensor Encode(Tensor images) =>
            nn.functional.avg_pool2d(images, 2).repeat(1, 2, 1, 1);

        public void Dispose() => Disposed = true;
    }

    [Fact]
    public void Features_are_latents_averaged_over_positions()
    {
        var encoder = new TilingEncoder();
        using var extractor = new EncoderFeatureExtractor(encoder);
        using var images = rand([3, 3, 4, 4], generator: new Generator(4));

        using var features = extractor.Features(images);

        extractor.FeatureDimension.Should().Be(6);
        features.shape.Should().Equal(3, 6);
        using var channelMeans = images.mean([2, 3]);
        TensorAssert.Close(features[.., ..3], channelMeans, 1e-6, 1e-6, "first three channels");
        TensorAssert.Close(features[.., 3..], channelMeans, 1e-6, 1e-6, "tiled channels");
        encoder.Disposed.Should().BeFalse("the adapter does not own the encoder by default");
    }
}
