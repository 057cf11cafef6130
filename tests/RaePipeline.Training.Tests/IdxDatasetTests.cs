using System.Buffers.Binary;
using System.IO.Compression;
using RaePipeline.Data;
using RaePipeline.Pipeline;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Training.Tests;

/// <summary>The IDX source (MNIST, Fashion-MNIST) on files the tests write.</summary>
public sealed class IdxDatasetTests : IDisposable
{
    readonly TemporaryFolder folder = new();

    public void Dispose() => folder.Dispose();

    /// <summary>An IDX file of unsigned bytes: 00 00 08 rank, big-endian dimensions, data; gzipped when asked.</summary>
    string WriteIdx(string name, int[] dimensions, byte[] data, bool gzip = false, byte type = 0x08)
    {
        var bytes = new byte[4 + 4 * dimensions.Length + data.Length];
        bytes[2] = type;
        bytes[3] = (byte)dimensions.Length;
        for (int i = 0; i < dimensions.Length; i++) BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + 4 * i), dimensions[i]);
        data.CopyTo(bytes, 4 + 4 * dimensions.Length);
        var path = folder.Combine(name);
        if (!gzip) File.WriteAllBytes(path, bytes);
        else
        {
            using var file = File.Create(path);
            using var stream = new GZipStream(file, CompressionLevel.Fastest);
            stream.Write(bytes);
        }
        return path;
    }

    /// <summary>Five 6x6 grayscale images with distinct pixels and labels 3, 0, 7, 3, 1.</summary>
    (byte[] Pixels, byte[] Labels) Sample()
    {
        var random = new Random(4);
        var pixels = new byte[5 * 36];
        random.NextBytes(pixels);
        return (pixels, [3, 0, 7, 3, 1]);
    }

    [Fact]
    public void Images_become_rgb_with_their_labels_from_raw_and_gzipped_files()
    {
        var (pixels, labels) = Sample();
        var images = WriteIdx("images-idx3-ubyte", [5, 6, 6], pixels);
        var labelFile = WriteIdx("labels-idx1-ubyte.gz", [5], labels, gzip: true);
        var zipped = WriteIdx("images-idx3-ubyte.gz", [5, 6, 6], pixels, gzip: true);

        var data = new IdxImageDataset(images, labelFile, imageSize: 6);
        var fromGzip = new IdxImageDataset(zipped, labelFile, imageSize: 6);

        data.Count.Should().Be(5);
        data.NumClasses.Should().Be(8, "labels run up to 7");
        using var scope = NewDisposeScope();
        for (int i = 0; i < 5; i++)
        {
            var item = data.Get(i);
            item.Label.Should().Be(labels[i]);
            item.Image.shape.Should().Equal(3, 6, 6);
            var expected = tensor(pixels.AsSpan(i * 36, 36).ToArray().Select(p => p / 255f).ToArray(), [6, 6]);
            for (int c = 0; c < 3; c++)
                item.Image[c].SameValues(expected).Should().BeTrue($"channel {c} of image {i} repeats the gray pixels");
            fromGzip.Get(i).Image.SameValues(item.Image).Should().BeTrue();
        }
        fromGzip.Identity.Should().Contain(zipped).And.NotBe(data.Identity);
    }

    [Fact]
    public void Another_image_size_uses_the_center_crop_of_the_folder_source()
    {
        var (pixels, labels) = Sample();
        var data = new IdxImageDataset(WriteIdx("images", [5, 6, 6], pixels), WriteIdx("labels", [5], labels), imageSize: 8);
        using var scope = NewDisposeScope();
        var gray = tensor(pixels.AsSpan(2 * 36, 36).ToArray(), [6, 6, 1], ScalarType.Byte);
        var expected = AdmCenterCrop.Apply(gray.expand(6, 6, 3).contiguous(), 8).permute(2, 0, 1).to(float32) / 255;
        var image = data.Get(2).Image;
        image.shape.Should().Equal(3, 8, 8);
        image.SameValues(expected).Should().BeTrue();
    }

    [Fact]
    public void A_folder_of_mnist_named_files_is_opened_by_split_and_limit()
    {
        var (pixels, labels) = Sample();
        WriteIdx("train-images-idx3-ubyte.gz", [5, 6, 6], pixels, gzip: true);
        WriteIdx("train-labels-idx1-ubyte.gz", [5], labels, gzip: true);
        WriteIdx("t10k-images-idx3-ubyte", [2, 6, 6], pixels[..72]);
        WriteIdx("t10k-labels-idx1-ubyte", [2], [9, 2]);

        var train = Datasets.Open(new DataOptions { Source = "idx", Path = folder.Path, ImageSize = 6 }, "/", 0);
        var test = Datasets.Open(new DataOptions { Source = "idx", Path = folder.Path, Split = "test", ImageSize = 6 }, "/", 0);
        var limited = Datasets.Open(new DataOptions { Source = "idx", Path = folder.Path, ImageSize = 6, Limit = 3 }, "/", 0);

        (train.Count, train.NumClasses).Should().Be((5, 8));
        (test.Count, test.NumClasses, test.Get(0).Label).Should().Be((2, 10, 9));
        limited.Count.Should().Be(3);
        var unknown = () => Datasets.Open(new DataOptions { Source = "idx", Path = folder.Path, Split = "validation", ImageSize = 6 }, "/", 0);
        unknown.Should().Throw<DatasetException>().WithMessage("*'validation'*train or test*");
        File.Delete(folder.Combine("t10k-labels-idx1-ubyte"));
        var missing = () => Datasets.Open(new DataOptions { Source = "idx", Path = folder.Path, Split = "test", ImageSize = 6 }, "/", 0);
        missing.Should().Throw<DatasetException>().WithMessage($"{folder.Path}: no test split here*t10k-labels-idx1-ubyte*");
    }

    [Fact]
    public void Bad_files_are_refused_naming_the_file()
    {
        var (pixels, labels) = Sample();
        var images = WriteIdx("images", [5, 6, 6], pixels);
        var labelFile = WriteIdx("labels", [5], labels);

        var missing = folder.Combine("nope-idx3-ubyte");
        FluentActions.Invoking(() => new IdxImageDataset(missing, null, 6))
            .Should().Throw<DatasetException>().WithMessage($"IDX file not found: {missing}");
        var notIdx = folder.Combine("photo.png");
        File.WriteAllBytes(notIdx, [0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0]);
        FluentActions.Invoking(() => new IdxImageDataset(notIdx, null, 6))
            .Should().Throw<DatasetException>().WithMessage($"{notIdx}: not an IDX file (magic 89504E47*");
        var floats = WriteIdx("floats", [5, 6, 6], pixels, type: 0x0D);
        FluentActions.Invoking(() => new IdxImageDataset(floats, null, 6))
            .Should().Throw<DatasetException>().WithMessage($"{floats}: IDX element type 0x0D*");
        var truncated = WriteIdx("truncated", [5, 6, 6], pixels[..100]);
        FluentActions.Invoking(() => new IdxImageDataset(truncated, null, 6))
            .Should().Throw<DatasetException>().WithMessage($"{truncated}: the header declares 5 x 6 x 6 = 180 bytes of data, the file holds 100");
        var fewer = WriteIdx("fewer-labels", [4], labels[..4]);
        FluentActions.Invoking(() => new IdxImageDataset(images, fewer, 6))
            .Should().Throw<DatasetException>().WithMessage($"{fewer} holds 4 labels, but {images} holds 5 images");
        FluentActions.Invoking(() => new IdxImageDataset(labelFile, images, 6))
            .Should().Throw<DatasetException>().WithMessage($"{labelFile}: IDX images must be N x H x W, the file holds 5*");
        var corrupt = folder.Combine("corrupt.gz");
        File.WriteAllBytes(corrupt, [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3]);
        FluentActions.Invoking(() => new IdxImageDataset(corrupt, null, 6))
            .Should().Throw<DatasetException>().WithMessage($"{corrupt}: *");
    }
}
