using System.IO.Compression;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RaePipeline.Data;
using RaePipeline.Host;
using RaePipeline.Host.Running;
using RaePipeline.Pipeline;
using YamlDotNet.RepresentationModel;
using static TorchSharp.torch;

namespace RaePipeline.Pipelines.Tests;

/// <summary>
/// The data block of pipelines/fashion-mnist.yaml reads the Fashion-MNIST IDX files it names (Debian's
/// dataset-fashion-mnist); the images and labels are checked against the files' bytes read here, independently.
/// </summary>
public class FashionMnistDataTests
{
    internal static readonly string Pipeline = Path.Combine(RepositoryRoot.Path, "pipelines", "fashion-mnist.yaml");

    /// <summary>The pipeline's data block, as the host binds it (with its planning checks).</summary>
    static DataOptions Data()
    {
        using var services = HostServices.Create(LogLevel.Warning, ProgressReporter.Silent, _ => { });
        return services.GetRequiredService<PipelineRunner>().Plan(Pipeline, []).Definition.Data;
    }

    /// <summary>Where the pipeline's data block points: the folder of MNIST-named IDX files.</summary>
    internal static string DataFolder()
    {
        var yaml = new YamlStream();
        yaml.Load(new StringReader(File.ReadAllText(Pipeline)));
        var top = (YamlMappingNode)yaml.Documents[0].RootNode;
        var data = (YamlMappingNode)top.Children[new YamlScalarNode("data")];
        var path = ((YamlScalarNode)data.Children[new YamlScalarNode("path")]).Value!;
        return Path.GetFullPath(Path.Combine(Path.GetDirectoryName(Pipeline)!, path));
    }

    /// <summary>The bytes of a gzipped IDX file, decompressed.</summary>
    static byte[] Gunzip(string path)
    {
        using var file = File.OpenRead(path);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var bytes = new MemoryStream();
        gzip.CopyTo(bytes);
        return bytes.ToArray();
    }

    [FashionMnistFact]
    public void The_data_block_reads_the_fashion_mnist_idx_files()
    {
        var options = Data();
        options.Source.Should().Be("idx");
        var dataset = Datasets.Open(options, Path.GetDirectoryName(Pipeline)!, seed: 0);
        var pixels = Gunzip(Path.Combine(DataFolder(), "train-images-idx3-ubyte.gz"));
        var labels = Gunzip(Path.Combine(DataFolder(), "train-labels-idx1-ubyte.gz"));
        // IDX headers: magic (00 00 08 rank), then big-endian sizes: images (N, 28, 28), labels (N).
        int total = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(pixels.AsSpan(4));
        int side = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(pixels.AsSpan(8));
        total.Should().Be(60000, "Fashion-MNIST's training split");

        dataset.Count.Should().Be(options.Limit);
        dataset.ImageSize.Should().Be(options.ImageSize).And.Be(side, "the pipeline keeps Fashion-MNIST's own 28 px");
        dataset.NumClasses.Should().Be(10);
        var perClass = new int[10];
        for (int i = 0; i < dataset.Count; i += 97)
        {
            using var scope = NewDisposeScope();
            var (image, label) = dataset.Get(i);
            // The subset spreads its images evenly over the file: image i is the file's image i * total / count.
            long source = (long)i * total / dataset.Count;
            label.Should().Be(labels[8 + source], $"image {i} is the file's image {source}");
            image.shape.Should().Equal(3, side, side);
            var expected = tensor(pixels.AsSpan(16 + (int)source * side * side, side * side).ToArray()).to(float32).div(255).reshape(side, side);
            for (int c = 0; c < 3; c++)
                image[c].allclose(expected, rtol: 0, atol: 1e-6).Should().BeTrue($"channel {c} of image {i} repeats the gray pixels of the file");
        }
        for (int i = 0; i < dataset.Count; i++)
        {
            using var scope = NewDisposeScope();
            perClass[dataset.Get(i).Label]++;
        }
        perClass.Should().OnlyContain(n => n >= dataset.Count / 10 * 8 / 10,
            $"a subset spread over the file keeps every class (counts {string.Join(", ", perClass)})");
    }
}

/// <summary>A test that needs the Fashion-MNIST IDX files the pipeline names; skipped with how to install them.</summary>
public sealed class FashionMnistFactAttribute : FactAttribute
{
    public FashionMnistFactAttribute()
    {
        var folder = FashionMnistDataTests.DataFolder();
        if (!File.Exists(Path.Combine(folder, "train-images-idx3-ubyte.gz")) || !File.Exists(Path.Combine(folder, "train-labels-idx1-ubyte.gz")))
            Skip = $"Fashion-MNIST not found in {folder} (pipelines/fashion-mnist.yaml's data.path): apt-get install dataset-fashion-mnist";
    }
}
