using Microsoft.Extensions.Logging.Abstractions;
using RaePipeline.Abstractions;
using RaePipeline.FeatureExtractors.InceptionV3;
using RaePipeline.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Metrics.Tests;

/// <summary>
/// The FID Inception-v3 architecture with random weights. The real weights cannot be downloaded here, so the key
/// names and shapes are checked against the state dict that pytorch-fid's <c>fid_inception_v3()</c> loads
/// <c>pt_inception-2015-12-05-6726825d.pth</c> into (torchvision Inception3, num_classes 1008, aux_logits False,
/// FIDInceptionA/C/E blocks), transcribed below from that source.
/// </summary>
public class InceptionV3FidTests(InceptionV3FidTests.RandomInception shared) : IClassFixture<InceptionV3FidTests.RandomInception>
{
    /// <summary>One randomly initialized network for the whole class: building and running it at 299×299 is the slow part.</summary>
    public sealed class RandomInception : IDisposable
    {
        public InceptionV3FidExtractor Extractor { get; } = InceptionV3FidExtractor.WithRandomWeights(CPU, 1);

        public void Dispose() => Extractor.Dispose();
    }

    /// <summary>Conv weight shapes (out, in, kh, kw) of every BasicConv2d in pytorch-fid's FID Inception.</summary>
    static IEnumerable<(string Name, long[] Shape)> ReferenceConvolutions()
    {
        yield return ("Conv2d_1a_3x3", [32, 3, 3, 3]);
        yield return ("Conv2d_2a_3x3", [32, 32, 3, 3]);
        yield return ("Conv2d_2b_3x3", [64, 32, 3, 3]);
        yield return ("Conv2d_3b_1x1", [80, 64, 1, 1]);
        yield return ("Conv2d_4a_3x3", [192, 80, 3, 3]);
        foreach (var (name, input, pool) in new[] { ("Mixed_5b", 192L, 32L), ("Mixed_5c", 256L, 64L), ("Mixed_5d", 288L, 64L) })
        {
            yield return ($"{name}.branch1x1", [64, input, 1, 1]);
            yield return ($"{name}.branch5x5_1", [48, input, 1, 1]);
            yield return ($"{name}.branch5x5_2", [64, 48, 5, 5]);
            yield return ($"{name}.branch3x3dbl_1", [64, input, 1, 1]);
            yield return ($"{name}.branch3x3dbl_2", [96, 64, 3, 3]);
            yield return ($"{name}.branch3x3dbl_3", [96, 96, 3, 3]);
            yield return ($"{name}.branch_pool", [pool, input, 1, 1]);
        }
        yield return ("Mixed_6a.branch3x3", [384, 288, 3, 3]);
        yield return ("Mixed_6a.branch3x3dbl_1", [64, 288, 1, 1]);
        yield return ("Mixed_6a.branch3x3dbl_2", [96, 64, 3, 3]);
        yield return ("Mixed_6a.branch3x3dbl_3", [96, 96, 3, 3]);
        foreach (var (name, c7) in new[] { ("Mixed_6b", 128L), ("Mixed_6c", 160L), ("Mixed_6d", 160L), ("Mixed_6e", 192L) })
        {
            yield return ($"{name}.branch1x1", [192, 768, 1, 1]);
            yield return ($"{name}.branch7x7_1", [c7, 768, 1, 1]);
            yield return ($"{name}.branch7x7_2", [c7, c7, 1, 7]);
            yield return ($"{name}.branch7x7_3", [192, c7, 7, 1]);
            yield return ($"{name}.branch7x7dbl_1", [c7, 768, 1, 1]);
            yield return ($"{name}.branch7x7dbl_2", [c7, c7, 7, 1]);
            yield return ($"{name}.branch7x7dbl_3", [c7, c7, 1, 7]);
            yield return ($"{name}.branch7x7dbl_4", [c7, c7, 7, 1]);
            yield return ($"{name}.branch7x7dbl_5", [192, c7, 1, 7]);
            yield return ($"{name}.branch_pool", [192, 768, 1, 1]);
        }
        yield return ("Mixed_7a.branch3x3_1", [192, 768, 1, 1]);
        yield return ("Mixed_7a.branch3x3_2", [320, 192, 3, 3]);
        yield return ("Mixed_7a.branch7x7x3_1", [192, 768, 1, 1]);
        yield return ("Mixed_7a.branch7x7x3_2", [192, 192, 1, 7]);
        yield return ("Mixed_7a.branch7x7x3_3", [192, 192, 7, 1]);
        yield return ("Mixed_7a.branch7x7x3_4", [192, 192, 3, 3]);
        foreach (var (name, input) in new[] { ("Mixed_7b", 1280L), ("Mixed_7c", 2048L) })
        {
            yield return ($"{name}.branch1x1", [320, input, 1, 1]);
            yield return ($"{name}.branch3x3_1", [384, input, 1, 1]);
            yield return ($"{name}.branch3x3_2a", [384, 384, 1, 3]);
            yield return ($"{name}.branch3x3_2b", [384, 384, 3, 1]);
            yield return ($"{name}.branch3x3dbl_1", [448, input, 1, 1]);
            yield return ($"{name}.branch3x3dbl_2", [384, 448, 3, 3]);
            yield return ($"{name}.branch3x3dbl_3a", [384, 384, 1, 3]);
            yield return ($"{name}.branch3x3dbl_3b", [384, 384, 3, 1]);
            yield return ($"{name}.branch_pool", [192, input, 1, 1]);
        }
    }

    /// <summary>
    /// Every key of the release file with its shape: per BasicConv2d conv.weight and bn.{weight, bias, running_mean,
    /// running_var, num_batches_tracked} (the file holds num_batches_tracked: pytorch-fid issue #34 shows PyTorch 0.4.0
    /// rejecting exactly these keys), plus fc.weight (1008, 2048) and fc.bias (1008).
    /// </summary>
    static Dictionary<string, long[]> ReferenceKeys()
    {
        var keys = new Dictionary<string, long[]>(StringComparer.Ordinal);
        foreach (var (name, shape) in ReferenceConvolutions())
        {
            keys[$"{name}.conv.weight"] = shape;
            foreach (var stat in new[] { "weight", "bias", "running_mean", "running_var" })
                keys[$"{name}.bn.{stat}"] = [shape[0]];
            keys[$"{name}.bn.num_batches_tracked"] = [];
        }
        keys["fc.weight"] = [1008, 2048];
        keys["fc.bias"] = [1008];
        return keys;
    }

    [Fact]
    public void State_dict_keys_and_shapes_equal_the_pytorch_fid_release_file()
    {
        var actual = shared.Extractor.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.shape);
        var expected = ReferenceKeys();

        expected.Should().HaveCount(94 * 6 + 2, "94 BasicConv2d blocks and the classifier");
        actual.Keys.Should().BeEquivalentTo(expected.Keys);
        foreach (var (key, shape) in expected)
            actual[key].Should().Equal(shape, key);
    }

    [Fact]
    public void Features_are_2048_wide_and_probabilities_are_a_distribution_over_1008_classes()
    {
        using var images = rand([2, 3, 64, 64], generator: new Generator(9));

        using var features = shared.Extractor.Features(images);
        using var probabilities = shared.Extractor.ClassProbabilities(images.clone())!;

        features.shape.Should().Equal(2, 2048);
        features.isfinite().all().item<bool>().Should().BeTrue();
        (features[0] - features[1]).abs().max().item<float>().Should().BeGreaterThan(0, "different images give different features");
        probabilities.shape.Should().Equal(2, 1008);
        probabilities.sum(1).allclose(ones(2), rtol: 0, atol: 1e-5).Should().BeTrue();
    }

    [Fact]
    public void A_saved_state_dict_loads_through_the_component_and_gives_the_same_features()
    {
        var path = Path.Combine(Path.GetTempPath(), $"inception-{Guid.NewGuid():N}.safetensors");
        try
        {
            var original = shared.Extractor;
            SafeTensorsFile.Write(path, original.StateDict());
            var context = new ComponentContext { Device = CPU, BaseDirectory = Path.GetTempPath(), WeightsPath = path };
            var catalog = new ListCatalog();
            new InceptionV3Registrar().Register(catalog);
            var registration = catalog.Single();

            using var loaded = new InceptionV3FidExtractor(context, NullLogger<InceptionV3FidExtractor>.Instance);
            using var images = rand([1, 3, 32, 32], generator: new Generator(4));
            using var expected = original.Features(images);
            using var actual = loaded.Features(images);

            registration.Name.Should().Be("inception-v3-fid");
            actual.SameValues(expected).Should().BeTrue("the same weights give the same features (loading and inference are deterministic)");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_wrong_weights_file_fails_naming_missing_and_unexpected_keys()
    {
        var path = Path.Combine(Path.GetTempPath(), $"not-inception-{Guid.NewGuid():N}.safetensors");
        try
        {
            using var weight = zeros(4, 4);
            SafeTensorsFile.Write(path, new Dictionary<string, Tensor> { ["blocks.0.attn.qkv.weight"] = weight });
            var act = () => InceptionV3FidExtractor.Load(path, CPU);
            act.Should().Throw<WeightsFormatException>()
                .WithMessage("*missing keys*Conv2d_1a_3x3.conv.weight*unexpected keys (1): blocks.0.attn.qkv.weight*");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Missing_weights_are_a_configuration_error_on_the_weights_key()
    {
        var catalog = new ListCatalog();
        new InceptionV3Registrar().Register(catalog);
        var context = new ComponentContext { Device = CPU, BaseDirectory = Path.GetTempPath() };
        var describe = () => catalog.Single().Describe!(context, new InceptionV3FidOptions());
        var create = () => new InceptionV3FidExtractor(context, NullLogger<InceptionV3FidExtractor>.Instance);
        foreach (var act in new[] { describe, (Func<object>)create })
            act.Should().Throw<ComponentConfigurationException>()
                .Where(e => e.OptionKey == "weights" && e.Message.Contains("pt_inception-2015-12-05-6726825d.pth"));
    }

    /// <summary>The registrar's registrations (the class form of contracts 1.1).</summary>
    sealed class ListCatalog : List<ComponentClassRegistration<IFeatureExtractor, InceptionV3FidExtractor, InceptionV3FidOptions>>, IComponentCatalog
    {
        public void Add<TRole, TOptions>(ComponentRegistration<TRole, TOptions> registration)
            where TRole : class where TOptions : class, new() =>
            throw new InvalidOperationException("inception-v3-fid registers the class form");

        public void Add<TRole, TComponent, TOptions>(ComponentClassRegistration<TRole, TComponent, TOptions> registration)
            where TRole : class where TComponent : class, TRole where TOptions : class, new() =>
            base.Add((ComponentClassRegistration<IFeatureExtractor, InceptionV3FidExtractor, InceptionV3FidOptions>)(object)registration);
    }

    /// <summary>
    /// sFID wiring: the spatial features of one forward are mixed_6/conv = Mixed_6d.branch1x1 after BN and ReLU, its
    /// first 7 channels, flattened in ADM's NHWC order (17 x 17 x 7 = 2023). The reference runs the network's layers
    /// one by one from its modules, takes that branch by hand, and the Fréchet distance of the two sets' hand-made
    /// features (through the same FD code) must equal the one from the extractor's features.
    /// </summary>
    [Fact]
    public void Spatial_features_are_mixed_6_conv_by_hand_and_give_the_same_sfid()
    {
        using var scope = NewDisposeScope();
        var extractor = shared.Extractor;
        extractor.SpatialFeatureDimension.Should().Be(2023);
        var setA = rand([3, 3, 40, 40], generator: new Generator(21));
        var setB = rand([3, 3, 40, 40], generator: new Generator(22)) * 0.5f;

        Tensor ByHand(Tensor images)
        {
            using var inner = NewDisposeScope();
            var modules = extractor.Network.named_children().ToDictionary(c => c.name, c => (nn.Module<Tensor, Tensor>)c.module);
            Tensor Run(Tensor x, params string[] names) => names.Aggregate(x, (h, name) => modules[name].forward(h));
            var x = nn.functional.interpolate(images, size: [299, 299], mode: InterpolationMode.Bilinear, align_corners: false) * 2 - 1;
            x = nn.functional.max_pool2d(Run(x, "Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3"), 3, stride: 2);
            x = nn.functional.max_pool2d(Run(x, "Conv2d_3b_1x1", "Conv2d_4a_3x3"), 3, stride: 2);
            x = Run(x, "Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c");
            var branch = (nn.Module<Tensor, Tensor>)((nn.Module)modules["Mixed_6d"]).named_children().Single(c => c.name == "branch1x1").module;
            var conv = branch.forward(x);                                                 // (B, 192, 17, 17), after BN + ReLU
            conv.shape.Should().Equal(images.shape[0], 192, 17, 17);
            return conv[.., ..7].permute(0, 2, 3, 1).reshape(images.shape[0], -1).MoveToOuterDisposeScope();
        }

        using var batchA = extractor.FeaturesWithSpatial(setA);
        using var batchB = extractor.FeaturesWithSpatial(setB);
        batchA.Spatial!.shape.Should().Equal(3, 2023);
        batchA.Pooled.shape.Should().Equal(3, 2048);
        var handA = ByHand(setA);
        var handB = ByHand(setB);
        TensorAssert.Close(batchA.Spatial!, handA, 1e-6, 1e-6, "spatial features of set A");
        TensorAssert.Close(batchB.Spatial!, handB, 1e-6, 1e-6, "spatial features of set B");
        handA.min().item<float>().Should().BeGreaterThanOrEqualTo(0, "after the ReLU");

        using var statsA = GaussianStatistics.FromFeatures(batchA.Spatial!);
        using var statsB = GaussianStatistics.FromFeatures(batchB.Spatial!);
        using var handStatsA = GaussianStatistics.FromFeatures(handA);
        using var handStatsB = GaussianStatistics.FromFeatures(handB);
        var sfid = FrechetDistance.Compute(statsA, statsB).Distance;
        var reference = FrechetDistance.Compute(handStatsA, handStatsB).Distance;
        // 3 images in 2023 dimensions: rank-deficient covariances (the eps offset path), a small distance of either sign.
        sfid.Should().BeApproximately(reference, 1e-4 * Math.Max(1, reference));
        // The pooled features of the same forward equal Features().
        TensorAssert.Close(extractor.Features(setA), batchA.Pooled, 1e-6, 1e-6, "pool3 of the same forward");
    }
}
