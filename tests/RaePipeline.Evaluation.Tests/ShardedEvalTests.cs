using RaePipeline.Abstractions;
using RaePipeline.Distributed;
using RaePipeline.Imaging;
using RaePipeline.Pipeline;
using RaePipeline.Weights;
using static TorchSharp.torch;

namespace RaePipeline.Evaluation.Tests;

/// <summary>
/// <c>eval</c> as an array job: shards run one after another in this process each extract their batches' features
/// (reading only their own images), <c>merge</c> gives the metrics of one run; a killed shard resumes from the
/// features it wrote; features of other settings are refused naming the folder.
/// </summary>
public sealed class ShardedEvalTests : IDisposable
{
    readonly string folder = Path.Combine(Path.GetTempPath(), "rae-sharded-eval-" + Guid.NewGuid().ToString("N"));

    public ShardedEvalTests()
    {
        Directory.CreateDirectory(folder);
        using var scope = NewDisposeScope();
        var generator = new Generator(5);
        NpzFile.Write(Path.Combine(folder, "samples.npz"), [new("arr_0", PixelConversion.ToUint8Hwc(rand([9, 3, 16, 16], generator: generator) * 0.6 + 0.4))]);
        NpzFile.Write(Path.Combine(folder, "reference.npz"), [new("arr_0", PixelConversion.ToUint8Hwc(rand([10, 3, 16, 16], generator: generator) * 0.7))]);
    }

    public void Dispose() => Directory.Delete(folder, recursive: true);

    static EvalOptions Options(string prefix, string? shard = null, bool merge = false, int batchSize = 2) => new()
    {
        Samples = "samples.npz", Reference = "reference.npz", BatchSize = batchSize, KidSubsets = 2, KidSubsetSize = 4,
        Probe = new ProbeOptions { Enabled = false }, Prefix = prefix, Shard = shard, Merge = merge,
    };

    JobContext Context(IFeatureExtractor extractor, CancellationToken cancellation = default)
    {
        var context = TestJobContext.Create(folder, new TestComponents(extractor: extractor, extractorName: "moments"));
        return new JobContext
        {
            Components = context.Components, Device = context.Device, Seed = context.Seed, RunDirectory = context.RunDirectory,
            PipelineDirectory = context.PipelineDirectory, Data = context.Data, LoggerFactory = context.LoggerFactory,
            Progress = context.Progress, Results = context.Results, Runner = context.Runner, Cancellation = cancellation,
        };
    }

    [Fact]
    public void Shards_merged_give_the_metrics_of_one_run()
    {
        using var extractor = new CountingExtractor(new MomentsExtractor());
        var single = Context(extractor);
        new EvalJob().Run(single, Options("single"));
        extractor.Calls.Should().Be(5 + 5, "9 samples and 10 reference images in batches of 2");

        foreach (var shard in new[] { "2/3", "0/3", "1/3" })
        {
            var shardContext = Context(extractor);
            new EvalJob().Run(shardContext, Options("sharded", shard));
            shardContext.Results.Metrics.Should().BeEmpty("a shard only writes its features");
        }
        extractor.Calls.Should().Be(20);
        var merged = Context(extractor);
        new EvalJob().Run(merged, Options("sharded", merge: true));
        extractor.Calls.Should().Be(20, "the merge computes no features");

        var expected = single.Results.Metrics.Where(m => !m.Key.EndsWith("images_per_second")).ToDictionary(m => m.Key["single/".Length..], m => m.Value);
        expected.Keys.Should().Contain(["fd_moments", "kd_moments", "is", "precision", "recall", "num_samples"]);
        expected["fd_moments"].Should().BeGreaterThan(0.01);
        foreach (var (key, value) in expected) merged.Results.Metrics["sharded/" + key].Should().Be(value, key);
        File.ReadAllBytes(Path.Combine(folder, "sharded", "samples_statistics.npz"))
            .Should().Equal(File.ReadAllBytes(Path.Combine(folder, "single", "samples_statistics.npz")));
        Directory.GetDirectories(Path.Combine(folder, "sharded")).Should().BeEmpty("the chunks are removed once merged");
    }

    [Fact]
    public void A_shard_reads_only_its_own_images()
    {
        var source = new RecordingSource(23);
        var chunks = new FeatureChunks(new ChunkStore(Path.Combine(folder, "chunks"), "test"), ShardSelection.Parse("1/3"), ProcessGroup.Single, Merge: false);
        // 23 images in batches of 4: 6 batches; shard 1 of 3 has batches 2 and 3 (images 8..15).
        var set = FeatureSet.Compute(new MomentsExtractor(), source, 4, 0, false, ProgressReporter.Silent, "test", CancellationToken.None, chunks,
            Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        set.Should().BeNull("a shard's features wait for the merge");
        source.Reads.Should().Equal((8L, 12L), (12L, 16L));
    }

    [Fact]
    public void A_killed_shard_resumes_from_its_features_and_features_of_other_settings_are_refused()
    {
        using var extractor = new CountingExtractor(new MomentsExtractor());
        var single = Context(extractor);
        new EvalJob().Run(single, Options("single"));

        // Shard 0/2 has sample batches 0 and 1 of 5 and reference batches 0 and 1 of 5; stopped after its first batch, it keeps it.
        using var cancellation = new CancellationTokenSource();
        extractor.Calls = 0;
        extractor.CancelAtCall = (1, cancellation);
        FluentActions.Invoking(() => new EvalJob().Run(Context(extractor, cancellation.Token), Options("resumed", "0/2")))
            .Should().Throw<OperationCanceledException>();
        extractor.CancelAtCall = null;
        extractor.Calls = 0;
        new EvalJob().Run(Context(extractor), Options("resumed", "0/2"));
        extractor.Calls.Should().Be(1 + 2, "one sample batch is left, and the shard's 2 reference batches");
        new EvalJob().Run(Context(extractor), Options("resumed", "1/2"));
        var merged = Context(extractor);
        new EvalJob().Run(merged, Options("resumed", merge: true));
        foreach (var key in new[] { "fd_moments", "kd_moments", "is", "precision", "recall" })
            merged.Results.Metrics["resumed/" + key].Should().Be(single.Results.Metrics["single/" + key], key);

        var chunkFolder = Path.Combine(folder, "mixed", "samples.chunks");
        new EvalJob().Run(Context(extractor), Options("mixed", "0/2"));
        FluentActions.Invoking(() => new EvalJob().Run(Context(extractor), Options("mixed", "0/2", batchSize: 3)))
            .Should().Throw<ChunkMismatchException>().Where(e => e.Folder == chunkFolder && e.Message.Contains(chunkFolder));
    }

    /// <summary>An extractor that counts its forwards and cancels the run at a chosen one.</summary>
    sealed class CountingExtractor(IFeatureExtractor inner) : IFeatureExtractor
    {
        public int Calls { get; set; }
        public (int Call, CancellationTokenSource Source)? CancelAtCall { get; set; }
        public int FeatureDimension => inner.FeatureDimension;

        public Tensor Features(Tensor images)
        {
            if (++Calls == CancelAtCall?.Call) CancelAtCall.Value.Source.Cancel();
            return inner.Features(images);
        }

        public Tensor? ClassProbabilities(Tensor images) => inner.ClassProbabilities(images);

        public void Dispose() => inner.Dispose();
    }

    /// <summary>Constant grey images that remember which ranges were read.</summary>
    sealed class RecordingSource(long count) : ImageSource
    {
        public List<(long Start, long End)> Reads { get; } = [];
        public override string Description => "recording";
        public override string Identity => "recording";
        public override long Count => count;

        public override (Tensor Images, Tensor? Labels) Read(long start, long end, long limit)
        {
            Reads.Add((start, end));
            return (full([end - start, 3, 8, 8], 0.5f), null);
        }
    }
}
