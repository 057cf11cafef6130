using RaePipeline.Weights;
using static TorchSharp.torch;

namespace RaePipeline.Evaluation.Tests;

/// <summary>The eval job's npz images go through the one .npy parser, batch by batch.</summary>
public sealed class NpzImageSourceTests : IDisposable
{
    readonly DirectoryInfo folder = Directory.CreateTempSubdirectory("rae-npz-source-");

    public void Dispose() => folder.Delete(recursive: true);

    [Fact]
    public void Arr_0_is_streamed_in_batches_equal_to_the_stored_images()
    {
        using var scope = NewDisposeScope();
        var images = randint(0, 256, [7, 4, 5, 3], dtype: uint8, generator: new Generator(1));
        var path = Path.Combine(folder.FullName, "samples.npz");
        NpzFile.Write(path, [new("arr_0", images), new("arr_1", arange(7))]);
        var source = new NpzImageSource(path);
        source.Count.Should().Be(7);
        var batches = source.Batches(batchSize: 3, limit: 0).ToList();
        batches.Select(b => b.shape[0]).Should().Equal(3, 3, 1);
        cat(batches).SameValues(images.permute(0, 3, 1, 2).to(float32).div(255)).Should().BeTrue();
        source.Batches(batchSize: 4, limit: 5).Sum(b => b.shape[0]).Should().Be(5);
    }

    [Fact]
    public void An_arr_0_that_is_not_uint8_images_is_refused_naming_the_file()
    {
        var path = Path.Combine(folder.FullName, "features.npz");
        NpzFile.Write(path, [new("arr_0", zeros(4, 8))]);
        var act = () => new NpzImageSource(path);
        act.Should().Throw<WeightsFormatException>().Where(e => e.Message.Contains(path) && e.Message.Contains("(4, 8) '<f4'"));
    }
}
