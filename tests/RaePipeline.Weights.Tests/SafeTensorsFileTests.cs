using RaePipeline.Weights;
using TorchSharp;

namespace RaePipeline.Weights.Tests;

public class SafeTensorsFileTests
{
    [Fact]
    public void Written_tensors_read_back_with_equal_values_dtypes_and_metadata()
    {
        var path = Path.Combine(Path.GetTempPath(), $"rae-st-{Guid.NewGuid():N}.safetensors");
        try
        {
            var a = torch.randn(3, 4, generator: new torch.Generator(1));
            var b = torch.arange(5, dtype: torch.int64);
            var c = torch.tensor(2.5, dtype: torch.float64);
            SafeTensorsFile.Write(path, new Dictionary<string, torch.Tensor> { ["w/a"] = a, ["b"] = b, ["c"] = c },
                new Dictionary<string, string> { ["step"] = "7" });
            var read = SafeTensorsFile.Read(path);
            read.Keys.Should().BeEquivalentTo(["w/a", "b", "c"]);
            read["w/a"].SameValues(a).Should().BeTrue();
            read["b"].dtype.Should().Be(torch.int64);
            read["b"].data<long>().ToArray().Should().Equal(0, 1, 2, 3, 4);
            read["c"].shape.Should().BeEmpty();
            read["c"].item<double>().Should().Be(2.5);
            SafeTensorsFile.ReadHeader(path).Metadata["step"].Should().Be("7");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_truncated_file_is_refused_with_its_path_in_the_message()
    {
        var path = Path.Combine(Path.GetTempPath(), $"rae-st-{Guid.NewGuid():N}.safetensors");
        try
        {
            SafeTensorsFile.Write(path, new Dictionary<string, torch.Tensor> { ["x"] = torch.ones(100) });
            var bytes = File.ReadAllBytes(path);
            File.WriteAllBytes(path, bytes[..^40]);
            var act = () => SafeTensorsFile.Read(path);
            act.Should().Throw<Exception>().Where(e => e.Message.Contains(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Npz_round_trip_keeps_shape_dtype_and_bytes()
    {
        var path = Path.Combine(Path.GetTempPath(), $"rae-npz-{Guid.NewGuid():N}.npz");
        try
        {
            var images = torch.randint(0, 256, [2, 4, 4, 3], dtype: torch.uint8, generator: new torch.Generator(3));
            var mu = torch.randn(7, dtype: torch.float64, generator: new torch.Generator(4));
            NpzFile.Write(path, new Dictionary<string, torch.Tensor> { ["arr_0"] = images, ["mu"] = mu });
            var first = File.ReadAllBytes(path);
            var read = NpzFile.Read(path);
            read["arr_0"].shape.Should().Equal(2, 4, 4, 3);
            read["arr_0"].SameValues(images).Should().BeTrue();
            read["mu"].SameValues(mu).Should().BeTrue();
            NpzFile.Write(path, new Dictionary<string, torch.Tensor> { ["arr_0"] = images, ["mu"] = mu });
            File.ReadAllBytes(path).Should().Equal(first);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
