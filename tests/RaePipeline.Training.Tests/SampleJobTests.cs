using RaePipeline.Generation;
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

    sealed class DisposableArrays(Dictionary<string, torch.Tensor> arrays) : IDisposable
    {
        public Dictionary<string, torch.Tensor> Arrays { get; } = arrays;
        public void Dispose()
        {
            foreach (var tensor in Arrays.Values) tensor.Dispose();
        }
    }
}
