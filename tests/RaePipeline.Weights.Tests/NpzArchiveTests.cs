using System.IO.Compression;
using System.Numerics;
using RaePipeline.Weights.Tests.Files;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Weights.Tests;

public class NpzArchiveTests : TestFolder
{
    [Fact]
    public void Arrays_of_every_supported_dtype_round_trip_with_their_values()
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(5);
        var arrays = new Dictionary<string, Tensor>
        {
            ["u8"] = randint(0, 256, [3, 2], dtype: uint8, generator: generator),
            ["i8"] = randint(-128, 128, [4], dtype: int8, generator: generator),
            ["b"] = randint(0, 2, [5], generator: generator).to(@bool),
            ["i16"] = randint(-1000, 1000, [2, 2], dtype: int16, generator: generator),
            ["i32"] = randint(-100000, 100000, [3], dtype: int32, generator: generator),
            ["i64"] = randint(-100000, 100000, [2, 1, 2], dtype: int64, generator: generator),
            ["f16"] = randn([3], generator: generator).to(float16),
            ["f32"] = randn([2, 3], generator: generator),
            ["f64"] = randn([4], dtype: float64, generator: generator),
            ["scalar"] = tensor(1.5),
            ["empty"] = zeros(0, 3),
        };
        var path = PathOf("all.npz");
        NpzFile.Write(path, arrays);
        using var archive = NpzArchive.Open(path);
        archive.Names.Should().Equal(arrays.Keys);
        foreach (var (name, expected) in arrays)
        {
            var read = archive.Read(name);
            read.dtype.Should().Be(expected.dtype, name);
            read.shape.Should().Equal(expected.shape, name);
            read.SameValues(expected).Should().BeTrue(name);
        }
    }

    [Fact]
    public void Rows_are_read_as_slices_and_streamed_without_a_whole_array_buffer()
    {
        using var scope = NewDisposeScope();
        var images = randint(0, 256, [64, 32, 32, 3], dtype: uint8, generator: new Generator(2)); // 192 KiB
        var path = PathOf("images.npz");
        NpzFile.Write(path, [new("arr_0", images)]);
        using var archive = NpzArchive.Open(path);
        archive.Header("arr_0").Shape.Should().Equal(64, 32, 32, 3);
        archive.ReadRows("arr_0", 10, 3).SameValues(images[10..13]).Should().BeTrue();

        long before = GC.GetAllocatedBytesForCurrentThread();
        using var rows = archive.OpenRows("arr_0");
        var chunks = new List<Tensor>();
        while (rows.Remaining > 0) chunks.Add(rows.Read(Math.Min(10, rows.Remaining)));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        chunks.Select(c => c.shape[0]).Should().Equal(10, 10, 10, 10, 10, 10, 4);
        cat(chunks).SameValues(images).Should().BeTrue();
        allocated.Should().BeLessThan(images.NumberOfElements / 4, "rows go straight into tensor memory, never through a managed copy of the array");
    }

    [Fact]
    public void Compressed_archives_read_like_stored_ones()
    {
        using var scope = NewDisposeScope();
        var values = arange(24, dtype: float32).reshape(4, 6);
        using var header = new MemoryStream();
        NpyHeader.Write(header, values, "x");
        var bytes = header.ToArray().Concat(values.bytes.ToArray()).ToArray();
        var path = PathOf("compressed.npz");
        File.WriteAllBytes(path, RawNpz.Zip([("x.npy", bytes)], CompressionLevel.Optimal));
        using var archive = NpzArchive.Open(path);
        archive.Read("x").SameValues(values).Should().BeTrue();
        archive.ReadRows("x", 2, 2).SameValues(values[2..4]).Should().BeTrue();
    }

    [Fact]
    public void Fortran_ordered_arrays_read_in_numpy_order_and_are_refused_for_row_streaming()
    {
        // numpy stores a (2, 3) Fortran array column by column: 0 3 1 4 2 5 for [[0, 1, 2], [3, 4, 5]]
        var data = new float[] { 0, 3, 1, 4, 2, 5 }.SelectMany(BitConverter.GetBytes).ToArray();
        var path = RawNpz.Write(PathOf("fortran.npz"), ("x.npy", RawNpz.Npy(RawNpz.Header("<f4", "(2, 3)", fortranOrder: true), data)));
        using var archive = NpzArchive.Open(path);
        using var read = archive.Read("x");
        read.shape.Should().Equal(2, 3);
        read.data<float>().ToArray().Should().Equal(0, 1, 2, 3, 4, 5);
        var act = () => archive.ReadRows("x", 0, 1);
        act.Should().Throw<WeightsFormatException>().Where(e => e.Message.Contains(path) && e.Message.Contains("Fortran"));
    }

    [Fact]
    public void Format_versions_two_and_three_are_read()
    {
        var data = new long[] { 7, -8 }.SelectMany(BitConverter.GetBytes).ToArray();
        var path = RawNpz.Write(PathOf("versions.npz"),
            ("v2.npy", RawNpz.Npy(RawNpz.Header("<i8", "(2,)"), data, major: 2)),
            ("v3.npy", RawNpz.Npy(RawNpz.Header("<i8", "(2,)"), data, major: 3)));
        using var archive = NpzArchive.Open(path);
        archive.Read("v2").data<long>().ToArray().Should().Equal(7, -8);
        archive.Read("v3").data<long>().ToArray().Should().Equal(7, -8);
    }

    [Theory]
    [InlineData("<c8", "'<c8'")]
    [InlineData("|O", "'|O'")]
    [InlineData(">f4", "big-endian")]
    [InlineData("<U5", "'<U5'")]
    public void An_unsupported_dtype_is_refused_naming_it_the_array_and_the_file(string descr, string said) =>
        ShouldRefuse(Array(RawNpz.Header(descr, "(1,)"), 8), "array 'x'", said);

    [Fact]
    public void A_structured_dtype_is_refused() =>
        ShouldRefuse(Array("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", 4), "array 'x'", "descr a list");

    [Theory]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), ", "not a Python dict literal")]
    [InlineData("__import__('os').system('true')", "not a Python dict literal")]
    [InlineData("{'descr': '<f4', 'shape': (1,), }", "exactly descr, fortran_order and shape")]
    [InlineData("{'descr': '<f4', 'fortran_order': 0, 'shape': (1,), }", "fortran_order 0")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': [1], }", "expected a tuple of integers")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (1.0,), }", "not a Python dict literal")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", "dimension 0 = -1")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': ('1',), }", "dimension 0 = '1'")]
    [InlineData("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", "appears twice")]
    public void A_malformed_header_is_refused_saying_what_is_wrong(string header, string said) =>
        ShouldRefuse(Array(header, 4), "array 'x'", said);

    [Fact]
    public void A_huge_shape_is_refused_with_its_true_byte_count()
    {
        var bytes = BigInteger.Pow(2, 32) * (BigInteger.Pow(2, 32) + 1) * 4;
        ShouldRefuse(Array(RawNpz.Header("<f4", "(4294967296, 4294967297)"), 16), "array 'x'", $"needs {bytes} bytes", "holds 16");
    }

    [Fact]
    public void A_truncated_array_is_refused_as_truncated() =>
        ShouldRefuse(Array(RawNpz.Header("<f8", "(4, 4)"), 100), "array 'x'", "needs 128 bytes", "holds 100", "truncated");

    [Fact]
    public void A_header_beyond_numpys_size_limit_is_refused()
    {
        var header = RawNpz.Header("<f4", "(1,)") + new string(' ', 20000);
        ShouldRefuse(Array(header, 4), "array 'x'", "more than numpy's limit");
    }

    [Fact]
    public void A_file_without_the_npy_magic_is_refused() =>
        ShouldRefuse(RawNpz.Write(PathOf("bad.npz"), ("x.npy", "not numpy at all"u8.ToArray())), "array 'x'", "no \\x93NUMPY magic");

    [Fact]
    public void A_file_that_is_not_a_zip_archive_is_refused()
    {
        var path = PathOf("text.npz");
        File.WriteAllText(path, "mu = [1, 2, 3]\n");
        ShouldRefuse(path, "not a readable zip archive", "npz archive");
    }

    [Fact]
    public void An_archive_holding_an_entry_twice_is_refused()
    {
        var npy = RawNpz.Npy(RawNpz.Header("|u1", "(1,)"), [1]);
        ShouldRefuse(RawNpz.Write(PathOf("twice.npz"), ("x.npy", npy), ("x.npy", npy)), "'x.npy' twice");
    }

    [Fact]
    public void A_zip_entry_claiming_more_bytes_than_it_can_hold_is_refused_before_any_allocation()
    {
        var npy = RawNpz.Npy(RawNpz.Header("|u1", "(4,)"), [1, 2, 3, 4]);
        var zip = RawNpz.Zip([("x.npy", npy)]);
        // the central directory's uncompressed size (offset 24 of its file header) now claims 3 GB
        int central = FindSignature(zip, 0x02014b50);
        BitConverter.GetBytes(3_000_000_000u).CopyTo(zip, central + 24);
        var path = PathOf("inflated.npz");
        File.WriteAllBytes(path, zip);
        long before = GC.GetAllocatedBytesForCurrentThread();
        ShouldRefuse(path, "claims 3000000000 bytes");
        (GC.GetAllocatedBytesForCurrentThread() - before).Should().BeLessThan(1 << 20);
    }

    [Fact]
    public void A_missing_array_is_refused_listing_the_arrays_there_are()
    {
        var path = RawNpz.Write(PathOf("one.npz"), ("mu.npy", RawNpz.Npy(RawNpz.Header("<f8", "(0,)"), [])));
        using var archive = NpzArchive.Open(path);
        var act = () => archive.Read("arr_0");
        act.Should().Throw<WeightsFormatException>().Where(e => e.Message.Contains(path) && e.Message.Contains("'arr_0'") && e.Message.Contains("'mu'"));
    }

    string Array(string header, int dataBytes) =>
        RawNpz.Write(PathOf("x.npz"), ("x.npy", RawNpz.Npy(header, new byte[dataBytes])));

    static int FindSignature(byte[] bytes, uint signature)
    {
        for (int i = 0; i + 4 <= bytes.Length; i++)
            if (BitConverter.ToUInt32(bytes, i) == signature) return i;
        throw new InvalidOperationException("signature not found");
    }

    static void ShouldRefuse(string path, params string[] fragments)
    {
        var act = () => NpzFile.Read(path);
        var message = act.Should().Throw<WeightsFormatException>().Which.Message;
        message.Should().Contain(path);
        foreach (var fragment in fragments) message.Should().Contain(fragment);
    }
}
