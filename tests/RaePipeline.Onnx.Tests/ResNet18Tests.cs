using Microsoft.ML.OnnxRuntime;
using RaePipeline.Abstractions;
using RaePipeline.Encoders.Onnx;
using RaePipeline.VisionTransformers;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Onnx.Tests;

/// <summary>
/// The shipped ResNet-18 (Microsoft.ML.DnnImageFeaturizer.ResNet18) as an encoder and as a feature extractor,
/// against the package's own graphs run by ONNX Runtime directly, as ML.NET's featurizer runs them.
/// </summary>
public sealed class ResNet18Tests
{
    static readonly ComponentContext Context = new() { Device = CPU, BaseDirectory = "." };
    static string ModelPath => Path.Combine(ResNet18Featurizer.ModelFolder, ResNet18Featurizer.ModelFileName);
    static string PreprocessPath => Path.Combine(ResNet18Featurizer.ModelFolder, ResNet18Featurizer.PreprocessFileName);

    static Tensor Images(long batch, int seed) =>
        rand([batch, 3, 32, 32], generator: new Generator((ulong)seed));

    /// <summary>
    /// The featurizer's output computed with the package's graphs as they are: the preprocessing graph on the
    /// 0..255 RGB planes of the image resized to 224 (ML.NET's ExtractPixels), then the model's declared output.
    /// </summary>
    static Tensor FeaturizerOutput(Tensor images)
    {
        var preprocess = OnnxGraph.Parse(File.ReadAllBytes(PreprocessPath), PreprocessPath);
        var model = OnnxGraph.Parse(File.ReadAllBytes(ModelPath), ModelPath);
        model.Outputs.Select(o => o.Name).Should().Equal([ResNet18Featurizer.PooledOutput], "the package declares the pooled features as the output");
        using var preprocessSession = new InferenceSession(PreprocessPath);
        using var modelSession = new InferenceSession(ModelPath);
        var pixels = ImageResize.Bicubic(images, 224, 224, antialias: false) * 255;
        var outputs = new List<Tensor>();
        for (int i = 0; i < images.shape[0]; i++)   // both graphs fix the batch at 1
        {
            var prepared = OnnxReference.Run(preprocessSession, preprocess.Inputs[0].Name, pixels.narrow(0, i, 1), preprocess.Outputs[0].Name);
            outputs.Add(OnnxReference.Run(modelSession, model.Inputs[0].Name, prepared, model.Outputs[0].Name));
        }
        return cat(outputs, 0).flatten(1); // (B, 512)
    }

    /// <summary>A component of the plugin, declared by its registrar as the host sees it.</summary>
    static ComponentRegistration<TRole, TOptions> Registered<TRole, TOptions>()
        where TRole : class where TOptions : class, new()
    {
        var catalog = new RecordingCatalog();
        new OnnxRegistrar().Register(catalog);
        return catalog.Get<TRole, TOptions>(ResNet18Featurizer.Name);
    }

    /// <summary>(3, 3, side, side): vertical stripes, horizontal stripes, a bright square on black.</summary>
    static Tensor Patterns(int side)
    {
        var ramp = arange(side);
        var vertical = ((ramp / 4) % 2).to(float32).view(1, side).expand(side, side);
        var square = zeros(side, side);
        square[TensorIndex.Slice(side / 4, 3 * side / 4), TensorIndex.Slice(side / 4, 3 * side / 4)] = 1;
        return stack([vertical, vertical.T, square]).unsqueeze(1).expand(3, 3, side, side).contiguous();
    }

    static float RelativeError(Tensor actual, Tensor expected) =>
        (actual - expected).abs().max().item<float>() / expected.abs().max().item<float>();

    [Fact]
    public void The_stage_4_latents_pooled_are_the_packages_declared_output()
    {
        using var scope = NewDisposeScope();
        var images = Images(2, 7);
        var expected = FeaturizerOutput(images);
        var options = ResNet18Featurizer.Options(ResNet18Featurizer.StageOutput(4));

        using var encoder = OnnxEncoder.Create(Context, options, ModelPath, ResNet18Featurizer.Name);
        var latents = encoder.Encode(images);

        latents.shape.Should().Equal(2, 512, 7, 7);
        RelativeError(latents.mean([2, 3]), expected).Should().BeLessThan(1e-5f);
        expected.std().item<float>().Should().BeGreaterThan(0.1f, "pretrained features vary over channels");
    }

    [Fact]
    public void The_feature_extractor_gives_the_packages_pooled_features()
    {
        using var scope = NewDisposeScope();
        var images = Images(3, 8);
        var expected = FeaturizerOutput(images);
        var registration = Registered<IFeatureExtractor, ResNet18FeatureExtractorOptions>();

        using var extractor = registration.Create(Context, new());
        var features = extractor.Features(images);

        extractor.FeatureDimension.Should().Be(512);
        features.shape.Should().Equal(3, 512);
        RelativeError(features, expected).Should().BeLessThan(1e-5f);
        registration.Describe!(Context, new()).ImageSize.Should().Be(224);
    }

    [Fact]
    public void The_resnet18_encoder_takes_stage_3_by_default_and_describes_it_without_building()
    {
        var registration = Registered<IEncoder, ResNet18EncoderOptions>();
        registration.Describe!(Context, new())
            .Should().BeEquivalentTo(new ComponentDescription { Latent = new LatentShape(256, 14, 14), ImageSize = 224 });
        registration.Describe(Context, new() { Stage = 2 }).Latent
            .Should().Be(new LatentShape(128, 28, 28));

        using var encoder = registration.Create(Context, new());
        using var scope = NewDisposeScope();
        var latents = encoder.Encode(Images(1, 9));
        latents.shape.Should().Equal(1, 256, 14, 14);
        encoder.ImageNormalization.Should().BeEquivalentTo(new ImageNormalization([0, 0, 0], [1, 1, 1]),
            "a decoder paired with it predicts pixels in [0, 1]; the 0..255 scale and the mean image are inside the encoder");
        latents.min().item<float>().Should().Be(0, "the stage ends in a ReLU");

        // Before the activation: the same map unclipped (its ReLU is the default latent), with negative values.
        using (var preActivationEncoder = registration.Create(Context, new() { PreActivation = true }))
        {
            var preActivation = preActivationEncoder.Encode(Images(1, 9));
            preActivation.shape.Should().Equal(1, 256, 14, 14);
            preActivation.min().item<float>().Should().BeLessThan(0);
            RelativeError(preActivation.relu(), latents).Should().BeLessThan(1e-6f, "the ReLU of the pre-activation map is the default latent");
        }
        registration.Describe(Context, new() { Stage = 4, PreActivation = true }).Latent.Should().Be(new LatentShape(512, 7, 7));

        var badStage = () => registration.Describe(Context, new() { Stage = 5 });
        badStage.Should().Throw<ComponentConfigurationException>().Where(e => e.OptionKey == "stage");
    }

    [Fact]
    public void At_another_input_size_the_maps_scale_and_the_pooled_latents_follow_the_images()
    {
        var registration = Registered<IEncoder, ResNet18EncoderOptions>();
        var options = new ResNet18EncoderOptions { Stage = 4, InputSize = 128 };
        registration.Describe!(Context, options)
            .Should().BeEquivalentTo(new ComponentDescription { Latent = new LatentShape(512, 4, 4), ImageSize = 128 });

        using var encoder = registration.Create(Context, options);
        using var full = registration.Create(Context, new() { Stage = 4 });
        using var scope = NewDisposeScope();
        var images = Patterns(40);
        var latents = encoder.Encode(images);

        latents.shape.Should().Equal(3, 512, 4, 4);
        latents.isfinite().all().item<bool>().Should().BeTrue();
        // The same pretrained features at a coarser scale: pooled, each pattern's are closer to its own 224 px
        // features than to the other patterns'.
        var small = latents.mean([2, 3]);
        var large = full.Encode(images).mean([2, 3]);
        var similarity = nn.functional.normalize(small, dim: 1).matmul(nn.functional.normalize(large, dim: 1).T);
        for (int i = 0; i < 3; i++)
            similarity[i].argmax().item<long>().Should().Be(i, $"pattern {i} at 128 px matches itself at 224 px");
    }
}
