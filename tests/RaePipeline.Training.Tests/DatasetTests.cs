using RaePipeline.Data;
using RaePipeline.Imaging;
using RaePipeline.Pipeline;
using RaePipeline.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Training.Tests;

public class DatasetTests
{
    [Fact]
    public void Synthetic_images_repeat_for_a_seed_and_cover_every_class()
    {
        var a = new SyntheticClassImages(numClasses: 5, imagesPerClass: 3, imageSize: 24, seed: 7);
        var b = new SyntheticClassImages(numClasses: 5, imagesPerClass: 3, imageSize: 24, seed: 7);
        var other = new SyntheticClassImages(numClasses: 5, imagesPerClass: 3, imageSize: 24, seed: 8);
        a.Count.Should().Be(15);
        a.NumClasses.Should().Be(5);
        var labels = new List<int>();
        for (int i = 0; i < a.Count; i++)
        {
            using var scope = NewDisposeScope();
            var x = a.Get(i);
            var y = b.Get(i);
            labels.Add(x.Label);
            x.Image.shape.Should().Equal(3, 24, 24);
            x.Image.dtype.Should().Be(ScalarType.Float32);
            x.Image.min().item<float>().Should().BeGreaterThanOrEqualTo(0f);
            x.Image.max().item<float>().Should().BeLessThanOrEqualTo(1f);
            x.Image.SameValues(y.Image).Should().BeTrue($"image {i} must repeat for the same seed");
            x.Image.SameValues(other.Get(i).Image).Should().BeFalse($"image {i} must change with the seed");
        }
        labels.Should().Equal(0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4);
    }

    [Fact]
    public void Synthetic_classes_differ_more_between_classes_than_within()
    {
        // The colour of the brightest pixel, scaled to a maximum channel of 1 (removing the brightness jitter),
        // identifies the class among 16 classes (each shape appears twice, in far-apart hues): nearest class-mean
        // classification on (that colour, the mean colour) is perfect.
        var data = new SyntheticClassImages(numClasses: 16, imagesPerClass: 6, imageSize: 32, seed: 0);
        using var scope = NewDisposeScope();
        var features = torch.stack(Enumerable.Range(0, data.Count).Select(i =>
        {
            var image = data.Get(i).Image;
            var pixels = image.reshape(3, -1);
            long brightest = pixels.sum(0).argmax().item<long>();
            var colour = pixels[.., brightest];
            return torch.cat([colour / colour.max(), image.mean([1, 2])]);
        }).ToArray()); // (N, 6)
        var labels = torch.tensor(Enumerable.Range(0, data.Count).Select(i => (long)data.Get(i).Label).ToArray());
        var centers = torch.stack(Enumerable.Range(0, 16).Select(c => features[labels.eq(c)].mean([0])).ToArray());
        var nearest = torch.cdist(features, centers).argmin(1);
        nearest.eq(labels).to(float32).mean().item<float>().Should().Be(1f);
    }

    [Fact]
    public void Image_folder_reads_sorted_classes_and_every_image()
    {
        using var folder = new TemporaryFolder();
        using var scope = NewDisposeScope();
        using var generator = new torch.Generator(3, torch.CPU);
        var written = new Dictionary<string, Tensor>();
        foreach (var (cls, names) in new[] { ("zebra", new[] { "b.png", "a.png" }), ("apple", new[] { "x.png" }) })
            foreach (var name in names)
            {
                var image = torch.rand([3, 16, 16], generator: generator);
                var path = folder.Combine(cls, name);
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                ImageFile.WritePng(path, image);
                written[$"{cls}/{name}"] = image;
            }
        File.WriteAllText(folder.Combine("zebra", "notes.txt"), "not an image");

        var data = new ImageFolderDataset(folder.Path, imageSize: 16);
        data.Classes.Should().Equal("apple", "zebra");
        data.Count.Should().Be(3);
        var expectedOrder = new[] { ("apple/x.png", 0), ("zebra/a.png", 1), ("zebra/b.png", 1) };
        for (int i = 0; i < 3; i++)
        {
            var item = data.Get(i);
            item.Label.Should().Be(expectedOrder[i].Item2);
            // PNG holds round(255 x); the dataset gives that byte / 255.
            var expected = written[expectedOrder[i].Item1].mul(255).round().div(255);
            TensorAssert.Close(item.Image, expected, 1e-6, 1e-6, expectedOrder[i].Item1);
        }
    }

    [Fact]
    public void Image_folder_errors_name_the_problem()
    {
        using var folder = new TemporaryFolder();
        var missing = () => new ImageFolderDataset(folder.Combine("nope"), 16);
        missing.Should().Throw<DatasetException>().WithMessage("*not found*nope*");
        var noClasses = () => new ImageFolderDataset(folder.Path, 16);
        noClasses.Should().Throw<DatasetException>().WithMessage("*no class sub-folders*");
        Directory.CreateDirectory(folder.Combine("cat"));
        using (var image = torch.rand(3, 8, 8)) ImageFile.WritePng(folder.Combine("cat", "1.png"), image);
        Directory.CreateDirectory(folder.Combine("dog"));
        var emptyClass = () => new ImageFolderDataset(folder.Path, 16);
        emptyClass.Should().Throw<DatasetException>().WithMessage("*'dog' holds no image files*");
    }

    [Fact]
    public void Npz_dataset_reads_images_and_labels_and_refuses_bad_archives()
    {
        using var folder = new TemporaryFolder();
        using var scope = NewDisposeScope();
        var images = torch.randint(0, 256, [4, 8, 8, 3], dtype: ScalarType.Byte);
        var labels = torch.tensor(new long[] { 2, 0, 1, 2 });
        var path = folder.Combine("data.npz");
        NpzFile.Write(path, new Dictionary<string, Tensor> { ["arr_0"] = images, ["arr_1"] = labels });
        var data = new NpzImageDataset(path, imageSize: 8);
        data.Count.Should().Be(4);
        data.NumClasses.Should().Be(3);
        var item = data.Get(3);
        item.Label.Should().Be(2);
        TensorAssert.Close(item.Image, images[3].permute(2, 0, 1).to(float32).div(255), 1e-7, 1e-7);

        var cropped = new NpzImageDataset(path, imageSize: 4);
        cropped.Get(0).Image.shape.Should().Equal(3, 4, 4);

        var unlabeled = folder.Combine("unlabeled.npz");
        NpzFile.Write(unlabeled, new Dictionary<string, Tensor> { ["arr_0"] = images });
        new NpzImageDataset(unlabeled, 8).NumClasses.Should().Be(1);

        var noImages = folder.Combine("bad1.npz");
        NpzFile.Write(noImages, new Dictionary<string, Tensor> { ["images"] = images });
        FluentActions.Invoking(() => new NpzImageDataset(noImages, 8)).Should().Throw<DatasetException>().WithMessage("*no 'arr_0'*");
        var floats = folder.Combine("bad2.npz");
        NpzFile.Write(floats, new Dictionary<string, Tensor> { ["arr_0"] = images.to(float32) });
        FluentActions.Invoking(() => new NpzImageDataset(floats, 8)).Should().Throw<DatasetException>().WithMessage("*expected N x H x W x 3 uint8*");
        var wrongLabels = folder.Combine("bad3.npz");
        NpzFile.Write(wrongLabels, new Dictionary<string, Tensor> { ["arr_0"] = images, ["arr_1"] = labels[..2] });
        FluentActions.Invoking(() => new NpzImageDataset(wrongLabels, 8)).Should().Throw<DatasetException>().WithMessage("*expected 4 integer labels*");
    }

    [Fact]
    public void Factory_opens_each_source_and_applies_the_limit()
    {
        var synthetic = Datasets.Open(new DataOptions { Source = "synthetic", ImageSize = 16, NumClasses = 3, ImagesPerClass = 4, Limit = 6 }, "/", seed: 1);
        synthetic.Count.Should().Be(6);
        Enumerable.Range(0, 6).Select(i => synthetic.Get(i).Label).Distinct().Should().HaveCount(3);
        FluentActions.Invoking(() => Datasets.Open(new DataOptions { Source = "imagenet" }, "/", 0))
            .Should().Throw<DatasetException>().WithMessage("*'imagenet' is not known*");
        FluentActions.Invoking(() => Datasets.Open(new DataOptions { Source = "folder" }, "/", 0))
            .Should().Throw<DatasetException>().WithMessage("*needs data.path*");
        FluentActions.Invoking(() => Datasets.Open(new DataOptions(), "/", 0))
            .Should().Throw<DatasetException>().WithMessage("*no 'data' block*");
    }
}
