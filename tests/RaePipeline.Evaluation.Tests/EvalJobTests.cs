using RaePipeline.Data;
using RaePipeline.Imaging;
using RaePipeline.Metrics;
using RaePipeline.Pipeline;
using RaePipeline.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Evaluation.Tests;

public sealed class EvalJobTests : IDisposable
{
    readonly string folder = Path.Combine(Path.GetTempPath(), "rae-eval-" + Guid.NewGuid().ToString("N"));

    public EvalJobTests() => Directory.CreateDirectory(folder);

    public void Dispose() => Directory.Delete(folder, recursive: true);

    /// <summary>24 PNGs in a folder (brighter images) and 30 images in an npz (darker): (samples read back, reference).</summary>
    (Tensor Samples, Tensor Reference) WriteImageSets()
    {
        var generator = new Generator(3);
        using var samples = rand([24, 3, 16, 16], generator: generator) * 0.6 + 0.4;
        Directory.CreateDirectory(Path.Combine(folder, "samples", "nested"));
        for (int i = 0; i < 24; i++)
        {
            // Some files in a sub-folder: the folder is read recursively, in ordinal path order.
            var name = i % 3 == 0 ? Path.Combine("nested", $"{i:D3}.png") : $"{i:D3}.png";
            using var image = samples[i];
            ImageFile.WritePng(Path.Combine(folder, "samples", name), image);
        }
        using var reference = rand([30, 3, 16, 16], generator: generator) * 0.7;
        using var hwc = PixelConversion.ToUint8Hwc(reference);
        NpzFile.Write(Path.Combine(folder, "reference.npz"), [new("arr_0", hwc)]);

        var readBack = stack(Directory.EnumerateFiles(Path.Combine(folder, "samples"), "*.png", SearchOption.AllDirectories)
            .Select(ImageFile.Read).ToList());
        return (readBack, PixelConversion.FromUint8Hwc(hwc));
    }

    static EvalOptions Options(string reference, string samples = "samples") => new()
    {
        Samples = samples, Reference = reference, BatchSize = 7, PrecisionRecall = true, InceptionScore = true,
    };

    [Fact]
    public void Encoder_features_give_the_frechet_distance_of_both_sets_and_precision_recall()
    {
        var (samples, reference) = WriteImageSets();
        using var encoder = new PoolingEncoder();
        var context = TestJobContext.Create(folder, new TestComponents(encoder, encoderName: "pooling"));

        new EvalJob().Run(context, Options("reference.npz"));

        using var sampleFeatures = encoder.Encode(samples).mean([2, 3]);
        using var referenceFeatures = encoder.Encode(reference).mean([2, 3]);
        using var sampleStats = GaussianStatistics.FromFeatures(sampleFeatures);
        using var referenceStats = GaussianStatistics.FromFeatures(referenceFeatures);
        double expected = FrechetDistance.Compute(sampleStats, referenceStats).Distance;
        var expectedPr = new PrecisionRecall().Compute(referenceFeatures, sampleFeatures);
        var metrics = context.Results.Metrics;

        metrics["eval/fd_pooling"].Should().BeApproximately(expected, 1e-6 * expected);
        expected.Should().BeGreaterThan(0.01, "the two sets differ in brightness");
        metrics["eval/precision"].Should().Be(expectedPr.Precision);
        metrics["eval/recall"].Should().Be(expectedPr.Recall);
        metrics["eval/num_samples"].Should().Be(24);
        metrics.Should().NotContainKey("eval/is", "an encoder has no classifier");
        metrics["eval/images_per_second"].Should().BePositive();
        File.Exists(Path.Combine(folder, "eval", "samples_statistics.npz")).Should().BeTrue();
    }

    [Fact]
    public void Saved_reference_statistics_serve_as_a_statistics_only_reference_with_the_same_distance()
    {
        WriteImageSets();
        using var encoder = new PoolingEncoder();
        var first = TestJobContext.Create(folder, new TestComponents(encoder, encoderName: "pooling"));
        new EvalJob().Run(first, Options("reference.npz"));
        File.Move(Path.Combine(folder, "eval", "reference_statistics.npz"), Path.Combine(folder, "reference_stats.npz"));

        var second = TestJobContext.Create(folder, new TestComponents(encoder, encoderName: "pooling"));
        new EvalJob().Run(second, Options("reference_stats.npz"));

        second.Results.Metrics["eval/fd_pooling"].Should().BeApproximately(first.Results.Metrics["eval/fd_pooling"], 1e-9);
        second.Results.Metrics.Should().NotContainKey("eval/precision", "statistics alone cannot give precision/recall");
    }

    [Fact]
    public void A_feature_extractor_with_a_classifier_is_preferred_and_gives_the_inception_score()
    {
        var (samples, _) = WriteImageSets();
        using var encoder = new PoolingEncoder();
        using var extractor = new MomentsExtractor();
        var context = TestJobContext.Create(folder, new TestComponents(encoder, "pooling", extractor, "moments"));

        new EvalJob().Run(context, Options("reference.npz"));

        using var probabilities = extractor.ClassProbabilities(samples)!;
        double expectedIs = InceptionScore.Compute(probabilities).Mean;
        context.Results.Metrics.Should().ContainKey("eval/fd_moments").And.NotContainKey("eval/fd_pooling");
        context.Results.Metrics["eval/is"].Should().BeApproximately(expectedIs, 1e-6 * expectedIs);
        expectedIs.Should().BeGreaterThan(1.0);
    }

    [Fact]
    public void Statistics_of_another_feature_space_are_refused_with_both_dimensions()
    {
        WriteImageSets();
        using (var inceptionSized = new GaussianStatistics(zeros(2048, dtype: float64), eye(2048, dtype: float64)))
            inceptionSized.Save(Path.Combine(folder, "inception_stats.npz"));
        using var encoder = new PoolingEncoder();
        var context = TestJobContext.Create(folder, new TestComponents(encoder, encoderName: "pooling"));

        var act = () => new EvalJob().Run(context, Options("inception_stats.npz"));

        act.Should().Throw<InvalidDataException>().WithMessage("*2048-dimensional*6-dimensional*");
    }

    [Fact]
    public void Without_samples_option_the_run_folder_samples_npz_is_scored_or_a_clear_error_given()
    {
        WriteImageSets();
        using var encoder = new PoolingEncoder();
        var context = TestJobContext.Create(folder, new TestComponents(encoder, encoderName: "pooling"));
        var options = Options("reference.npz", samples: "");

        var act = () => new EvalJob().Run(context, options);
        act.Should().Throw<FileNotFoundException>().WithMessage("*samples.npz*sample*");

        Directory.CreateDirectory(Path.Combine(folder, "samples"));
        File.Copy(Path.Combine(folder, "reference.npz"), Path.Combine(folder, EvalJob.DefaultSamplesFile));
        new EvalJob().Run(context, options);
        context.Results.Metrics["eval/fd_pooling"].Should().BeApproximately(0, 1e-9, "the same images on both sides");
        context.Results.Metrics["eval/num_samples"].Should().Be(30);
    }

    [Fact]
    public void Linear_probe_scores_samples_by_their_npz_labels_with_the_ceiling_on_held_out_data_beside()
    {
        var data = new DataOptions { Source = "synthetic", NumClasses = 4, ImagesPerClass = 30, ImageSize = 16 };
        var dataset = Datasets.Open(data, folder, seed: 0);
        // Samples: every third image of the data, with the labels they "were generated for" in arr_1.
        var picked = Enumerable.Range(0, dataset.Count).Where(i => i % 3 == 0).Select(dataset.Get).ToList();
        using var labels = tensor(picked.Select(p => (long)p.Label).ToArray());
        using var hwc = PixelConversion.ToUint8Hwc(stack(picked.Select(p => p.Image).ToList()));
        using var rotated = (labels + 1).remainder(4);
        NpzFile.Write(Path.Combine(folder, "samples.npz"), [new("arr_0", hwc), new("arr_1", labels)]);
        NpzFile.Write(Path.Combine(folder, "mislabelled.npz"), [new("arr_0", hwc), new("arr_1", rotated)]);
        using var extractor = new MomentsExtractor();
        var context = TestJobContext.Create(folder, new TestComponents(extractor: extractor, extractorName: "moments"), data);

        new EvalJob().Run(context, new EvalOptions { Samples = "samples.npz", Reference = EvalJob.DataReference, BatchSize = 16 });
        new EvalJob().Run(context, new EvalOptions { Samples = "mislabelled.npz", Reference = EvalJob.DataReference, BatchSize = 16, Prefix = "mislabelled" });
        new EvalJob().Run(context, new EvalOptions { Samples = "samples.npz", Reference = "mislabelled.npz", BatchSize = 16, Prefix = "other_reference" });
        new EvalJob().Run(context, new EvalOptions { Samples = "samples.npz", Reference = EvalJob.DataReference, BatchSize = 16, Prefix = "subset", Probe = new ProbeOptions { MaxImages = 12 } });

        // The same probe computed here from the extractor's features of the data and of the stored (uint8) samples.
        using var dataImages = stack(Enumerable.Range(0, dataset.Count).Select(i => dataset.Get(i).Image).ToList());
        using var dataLabels = tensor(Enumerable.Range(0, dataset.Count).Select(i => (long)dataset.Get(i).Label).ToArray());
        using var dataFeatures = extractor.Features(dataImages);
        using var sampleFeatures = extractor.Features(PixelConversion.FromUint8Hwc(hwc));
        var expected = ProbeAccuracy.Compute(dataFeatures, dataLabels, sampleFeatures, labels, new ProbeOptions().HeldOut,
            new ProbeOptions().L2, new Lbfgs { MaxIterations = new ProbeOptions().MaxIterations }, SeedDerivation.Derive(0, "probe-split"));
        var metrics = context.Results.Metrics;

        metrics["eval/probe/moments/accuracy"].Should().Be(expected.Accuracy);
        metrics["eval/probe/moments/ceiling"].Should().Be(expected.Ceiling);
        expected.HeldOutCount.Should().Be(4 * 6, "a fifth of each class's 30 images is held out");
        metrics["eval/probe/moments/accuracy"].Should().BeGreaterThan(0.9, "the synthetic classes differ in hue, which channel means see");
        metrics["eval/probe/moments/ceiling"].Should().BeGreaterThan(0.9);
        metrics["mislabelled/probe/moments/accuracy"].Should().BeLessThan(0.1, "every sample is scored against the next class");
        metrics["mislabelled/probe/moments/ceiling"].Should().Be(expected.Ceiling, "the ceiling depends on the real images only");
        metrics["other_reference/probe/moments/accuracy"].Should().Be(expected.Accuracy, "with another reference the data's features are computed for the probe");

        // probe.max_images: a seeded random subset of the real images.
        using var rows = randperm(dataset.Count, generator: new Generator(SeedDerivation.Derive(0, "probe-subset")))[..12];
        var subset = ProbeAccuracy.Compute(dataFeatures.index_select(0, rows), dataLabels.index_select(0, rows), sampleFeatures, labels,
            new ProbeOptions().HeldOut, new ProbeOptions().L2, new Lbfgs { MaxIterations = new ProbeOptions().MaxIterations }, SeedDerivation.Derive(0, "probe-split"));
        (subset.Accuracy, subset.Ceiling).Should().NotBe((expected.Accuracy, expected.Ceiling), "the subset is small enough to change the probe");
        metrics["subset/probe/moments/ceiling"].Should().Be(subset.Ceiling);
        metrics["subset/probe/moments/accuracy"].Should().Be(subset.Accuracy);
    }

    [Fact]
    public void Samples_without_labels_get_no_probe()
    {
        WriteImageSets();
        using var extractor = new MomentsExtractor();
        var data = new DataOptions { Source = "synthetic", NumClasses = 2, ImagesPerClass = 8, ImageSize = 16 };
        var context = TestJobContext.Create(folder, new TestComponents(extractor: extractor, extractorName: "moments"), data);

        new EvalJob().Run(context, Options("reference.npz"));

        context.Results.Metrics.Should().ContainKey("eval/fd_moments").And.NotContainKey("eval/probe/moments/accuracy", "PNG files carry no class labels");
    }

    [Fact]
    public void Validation_names_the_option_at_fault()
    {
        var validation = new JobValidationContext { Roles = new HashSet<PipelineRole>(), Data = new DataOptions() };
        var problems = ((IJob)new EvalJob()).Validate(validation, new EvalOptions { BatchSize = 0 }).ToList();

        problems.Select(p => p.OptionKey).Should().Contain(["reference", "batch_size", "features"]);
    }
}
