using System.Numerics;
using RaePipeline.Weights.Tests.Files;
using TorchSharp;

namespace RaePipeline.Weights.Tests;

public class SafeTensorsFileTests : TestFolder
{
    [Fact]
    public void Written_tensors_read_back_with_equal_values_dtypes_and_metadata()
    {
        var path = PathOf("w.safetensors");
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

    [Fact]
    public void A_truncated_file_is_refused_with_its_path_in_the_message()
    {
        var path = PathOf("x.safetensors");
        SafeTensorsFile.Write(path, new Dictionary<string, torch.Tensor> { ["x"] = torch.ones(100) });
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^40]);
        ShouldRefuse(path, "'x'", "truncated");
    }

    [Fact]
    public void An_entry_without_dtype_is_refused_naming_the_file_and_the_tensor() =>
        ShouldRefuse(Raw("""{"w": {"shape": [2], "data_offsets": [0, 8]}}""", 8), "'w'", "no \"dtype\"");

    [Fact]
    public void A_header_that_is_a_json_array_is_refused_naming_the_file() =>
        ShouldRefuse(Raw("""[{"dtype": "F32"}]""", 0), "header is a JSON array", "expected an object");

    [Fact]
    public void An_entry_that_is_a_number_is_refused_naming_the_tensor() =>
        ShouldRefuse(Raw("""{"w": 3}""", 0), "'w' is a JSON number");

    [Fact]
    public void A_shape_given_as_a_string_is_refused_naming_the_tensor() =>
        ShouldRefuse(Raw("""{"w": {"dtype": "F32", "shape": "[2]", "data_offsets": [0, 8]}}""", 8), "'w'", "\"shape\"", "string");

    [Fact]
    public void Float_data_offsets_are_refused_naming_the_tensor() =>
        ShouldRefuse(Raw("""{"w": {"dtype": "F32", "shape": [2], "data_offsets": [0.0, 8.0]}}""", 8), "'w'", "data_offsets[0] = 0.0");

    [Fact]
    public void A_negative_dimension_is_refused_before_libtorch_sees_it() =>
        ShouldRefuse(Raw("""{"w": {"dtype": "F32", "shape": [-2, 3], "data_offsets": [0, 0]}}""", 0), "'w'", "shape[0] = -2");

    [Fact]
    public void A_shape_whose_byte_size_overflows_64_bits_is_refused_although_it_claims_no_bytes()
    {
        // 2^31 x 2^31 x 4 bytes = 2^64, which wraps to 0 in 64-bit arithmetic and matched an empty data block
        var path = Raw("""{"w": {"dtype": "F32", "shape": [2147483648, 2147483648], "data_offsets": [0, 0]}}""", 0);
        ShouldRefuse(path, "'w'", BigInteger.Pow(2, 64).ToString(), "data_offsets give 0");
    }

    [Fact]
    public void The_refusal_of_a_huge_shape_prints_its_true_byte_count()
    {
        var rows = BigInteger.Pow(2, 32);
        var bytes = rows * (rows + 1) * 4;
        var path = Raw("""{"w": {"dtype": "F32", "shape": [4294967296, 4294967297], "data_offsets": [0, 16]}}""", 16);
        ShouldRefuse(path, "'w'", "[4294967296, 4294967297]", $"needs {bytes} bytes");
    }

    [Fact]
    public void Data_offsets_beyond_the_file_are_refused_as_a_truncation() =>
        ShouldRefuse(Raw("""{"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}""", 8), "'w'", "outside the 8 data bytes", "truncated");

    [Fact]
    public void An_unknown_dtype_is_refused_naming_it_and_the_tensor() =>
        ShouldRefuse(Raw("""{"w": {"dtype": "F8_E4M3", "shape": [2], "data_offsets": [0, 2]}}""", 2), "'w'", "'F8_E4M3'");

    [Fact]
    public void Metadata_that_is_not_a_string_is_refused() =>
        ShouldRefuse(Raw("""{"__metadata__": {"step": 7}}""", 0), "metadata 'step'", "expected a string");

    [Fact]
    public void A_tensor_listed_twice_is_refused()
    {
        const string entry = """{"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}""";
        ShouldRefuse(Raw($$"""{"w": {{entry}}, "w": {{entry}}}""", 1), "'w' twice");
    }

    [Fact]
    public void A_header_length_beyond_the_file_is_refused_without_reading_it()
    {
        var path = PathOf("long.safetensors");
        var bytes = RawSafeTensors.Bytes("{}", []);
        BitConverter.GetBytes(ulong.MaxValue / 3).CopyTo(bytes, 0);
        File.WriteAllBytes(path, bytes);
        ShouldRefuse(path, "not a safetensors file", "header length");
    }

    [Fact]
    public void Npz_round_trip_keeps_shape_dtype_and_bytes()
    {
        var path = PathOf("a.npz");
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

    string Raw(string header, int dataBytes) => RawSafeTensors.Write(PathOf("raw.safetensors"), header, new byte[dataBytes]);

    static void ShouldRefuse(string path, params string[] fragments)
    {
        var act = () => SafeTensorsFile.Read(path);
        var message = act.Should().Throw<WeightsFormatException>().Which.Message;
        message.Should().Contain(path);
        foreach (var fragment in fragments) message.Should().Contain(fragment);
    }
}
