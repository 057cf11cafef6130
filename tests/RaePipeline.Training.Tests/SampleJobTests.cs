using RaePipeline.Abstractions;
using RaePipeline.Backbones.DiffusionTransformers;
using RaePipeline.Distributed;
using RaePipeline.Generation;
using RaePipeline.Pipeline;
using RaePipeline.Samplers.FlowMatching;
using RaePipeline.Weights;
using TorchSharp;

namespace RaePipeline.Training.Tests;

/// <summary>The sample job on the tiny pipeline: samples are checked before they are written; shards of any count merge.</summary>
public class SampleJobTests
{
    static SampleJobOptions Options(int images = 6, string? shard = null) =>
        new() { NumImages = images, BatchSize = 2, Shard = shard, ClassGridImages = 2 };

    [Theory]
    [InlineData("denoiser", "the latents of images 0..1", "denoiser's weights")]
    [InlineData("decoder", "the decoded images 0..1", "decoder's weights")]
    public void Samples_with_nan_are_refused_and_nothing_is_written_for_them(string broken, string what, string hint)
    {
        using var folder = new TemporaryFolder();
        using var components = TinyPipeline.Components(withSampling: true);
        var module = broken == "denoiser" ? components.Denoiser.Module : components.Decoder.Module;
        using (torch.no_grad()) module.parameters().First().fill_(double.NaN);
        var context = TinyPipeline.Context(components, folder.Path, TinyPipeline.Data());

        FluentActions.Invoking(() => new SampleJob().Run(context, Options())).Should().Throw<NonFiniteSamplesException>()
            .Where(e => e.Message.Contains(what) && e.Message.Contains("NaN") && e.Message.Contains(hint));
        var samples = folder.Combine("samples");
        (Directory.Exists(samples) ? Directory.GetFiles(samples, "*", SearchOption.AllDirectories) : []).Should().BeEmpty();
    }

    [Fact]
    public void More_shards_than_batches_give_empty_shards_that_merge_into_the_single_run_byte_for_byte()
    {
        using var folder = new TemporaryFolder();
        using var components = TinyPipeline.Components(withSampling: true);
        var single = TinyPipeline.Context(components, folder.Combine("single"), TinyPipeline.Data());
        new SampleJob().Run(single, Options(images: 3));

        // 3 images in batches of 2 are 2 batches: of 4 shards, 0 and 2 have nothing to do.
        var sharded = TinyPipeline.Context(components, folder.Combine("sharded"), TinyPipeline.Data());
        foreach (var shard in new[] { "0/4", "1/4", "2/4", "3/4" }) new SampleJob().Run(sharded, Options(images: 3, shard));
        using (var empty = new DisposableArrays(NpzFile.Read(folder.Combine("sharded", "samples", "samples.shard-0-of-4.npz"))))
        {
            empty.Arrays["arr_0"].shape.Should().Equal(0, TinyPipeline.ImageSize, TinyPipeline.ImageSize, 3);
            empty.Arrays["index"].shape.Should().Equal(0);
        }
        new MergeSamplesJob().Run(sharded, new MergeSamplesJobOptions());

        File.ReadAllBytes(folder.Combine("sharded", "samples", "samples.npz"))
            .Should().Equal(File.ReadAllBytes(folder.Combine("single", "samples", "samples.npz")));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("1/2")]
    public void A_run_killed_after_two_batches_resumes_from_its_chunks_and_equals_an_uninterrupted_run(string? shard)
    {
        using var folder = new TemporaryFolder();
        var latent = new LatentShape(TinyPipeline.Channels, TinyPipeline.ImageSize / TinyPipeline.Patch, TinyPipeline.ImageSize / TinyPipeline.Patch);
        var decoder = new FaultyDecoder(new ProjectionDecoder(latent, TinyPipeline.Patch));
        using var components = new TestComponents
        {
            DenoiserOrNull = DiffusionTransformerDenoiser.Create(TinyPipeline.DenoiserSpec, null, WeightFiles.CheckpointEntry.Ema, seed: 4, torch.CPU),
            SamplerOrNull = new EulerSampler(new TimeGridSettings(4)),
            CreateDecoder = () => decoder,
            Guidance = new GuidanceOptions { Method = RaePipeline.FlowMatching.GuidanceMethod.Cfg, Scale = 1.5 },
        };
        // 11 images in batches of 2: 6 batches; shard 1/2 has batches 3..5.
        var options = new SampleJobOptions { NumImages = 11, BatchSize = 2, Shard = shard, ClassGridImages = 2, WritePngs = false };
        int batches = shard == null ? 6 : 3, firstBatch = shard == null ? 0 : 3;
        var npz = shard == null ? "samples.npz" : "samples.shard-1-of-2.npz";

        new SampleJob().Run(TinyPipeline.Context(components, folder.Combine("whole"), TinyPipeline.Data()), options);
        decoder.Calls.Should().Be(batches);
        var expected = File.ReadAllBytes(folder.Combine("whole", "samples", npz));

        var killed = TinyPipeline.Context(components, folder.Combine("killed"), TinyPipeline.Data());
        decoder.Calls = 0;
        decoder.FailAtCall = 3;
        FluentActions.Invoking(() => new SampleJob().Run(killed, options)).Should().Throw<InvalidOperationException>().WithMessage("*killed*");
        var chunks = folder.Combine("killed", "samples", "chunks");
        Directory.GetFiles(chunks, "batch-*.npz").Select(Path.GetFileName).Should()
            .BeEquivalentTo([$"batch-{firstBatch:D6}.npz", $"batch-{firstBatch + 1:D6}.npz"]);
        File.Exists(folder.Combine("killed", "samples", npz)).Should().BeFalse();

        // A chunk that does not verify (here: damaged) is sampled again; the finished one is kept.
        File.WriteAllBytes(Path.Combine(chunks, $"batch-{firstBatch + 1:D6}.npz"), [1, 2, 3]);
        decoder.Calls = 0;
        decoder.FailAtCall = null;
        var resumed = TinyPipeline.Context(components, folder.Combine("killed"), TinyPipeline.Data());
        new SampleJob().Run(resumed, options);
        decoder.Calls.Should().Be(batches - 1, "the first batch's chunk was kept, the damaged one and the rest were sampled");
        // The speed counts only the images this run sampled: all of the shard's but the kept batch's two.
        resumed.Results.Metrics["sample/images"].Should().Be(shard == null ? 11 : 5);
        resumed.Results.Metrics["sample/images_sampled"].Should().Be(shard == null ? 9 : 3);
        resumed.Results.Metrics["sample/seconds_per_image"].Should().BePositive();
        File.ReadAllBytes(folder.Combine("killed", "samples", npz)).Should().Equal(expected);
        Directory.Exists(chunks).Should().BeFalse("the chunks are removed once the npz holds them");
    }

    [Fact]
    public void Chunks_of_another_run_are_refused_naming_the_folder()
    {
        using var folder = new TemporaryFolder();
        using var components = TinyPipeline.Components(withSampling: true);
        var context = TinyPipeline.Context(components, folder.Path, TinyPipeline.Data());
        var options = new SampleJobOptions { NumImages = 4, BatchSize = 2, WritePngs = false, Seed = 1 };
        var chunksFolder = folder.Combine("samples", "chunks");
        var chunks = new SampleChunks(chunksFolder, "another run", TinyPipeline.ImageSize);
        using (var pixels = torch.zeros([2, TinyPipeline.ImageSize, TinyPipeline.ImageSize, 3], dtype: torch.uint8))
        using (var labels = SampleLabels.For(4, TinyPipeline.Classes, "equal", null, 1))
        using (var first = labels[..2].contiguous())
            chunks.Write(0, 0, pixels, first);

        FluentActions.Invoking(() => new SampleJob().Run(context, options)).Should().Throw<ChunkMismatchException>()
            .Where(e => e.Folder == chunksFolder && e.Message.Contains(chunksFolder) && e.Message.Contains("another run"));
        File.Exists(folder.Combine("samples", "samples.npz")).Should().BeFalse();
        File.Exists(chunks.PathOf(0)).Should().BeTrue("the other run's chunk is left alone");
    }

    [Fact]
    public void The_npz_streamed_from_chunks_equals_the_whole_arrays_written_at_once_byte_for_byte()
    {
        using var folder = new TemporaryFolder();
        using var components = TinyPipeline.Components(withSampling: true);
        new SampleJob().Run(TinyPipeline.Context(components, folder.Path, TinyPipeline.Data()),
            new SampleJobOptions { NumImages = 5, BatchSize = 2, WritePngs = false });
        var streamed = folder.Combine("samples", "samples.npz");
        using (var arrays = new DisposableArrays(NpzFile.Read(streamed)))
        {
            arrays.Arrays.Keys.Should().Equal("arr_0", "arr_1", "index");
            arrays.Arrays["arr_0"].shape.Should().Equal(5, TinyPipeline.ImageSize, TinyPipeline.ImageSize, 3);
            NpzFile.Write(folder.Combine("whole.npz"), arrays.Arrays);
        }
        File.ReadAllBytes(streamed).Should().Equal(File.ReadAllBytes(folder.Combine("whole.npz")));
    }

    /// <summary>A decoder that fails at a chosen call, as a killed process stops: what was written before stays.</summary>
    sealed class FaultyDecoder(IDecoder inner) : IDecoder
    {
        public int Calls { get; set; }
        public int? FailAtCall { get; set; }
        public LatentShape LatentShape => inner.LatentShape;
        public int OutputSize => inner.OutputSize;
        public torch.nn.Module Module => inner.Module;

        public torch.Tensor Decode(torch.Tensor latents)
        {
            if (++Calls == FailAtCall) throw new InvalidOperationException("killed");
            return inner.Decode(latents);
        }

        public void Dispose() => inner.Dispose();
    }

    sealed class DisposableArrays(Dictionary<string, torch.Tensor> arrays) : IDisposable
    {
        public Dictionary<string, torch.Tensor> Arrays { get; } = arrays;
        public void Dispose()
        {
            foreach (var tensor in Arrays.Values) tensor.Dispose();
        }
    }
}
