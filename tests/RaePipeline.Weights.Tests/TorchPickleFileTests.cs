using RaePipeline.Latents;
using RaePipeline.Weights.Tests.Files;
using static TorchSharp.torch;

namespace RaePipeline.Weights.Tests;

public class TorchPickleFileTests : TestFolder
{
    [Fact]
    public void A_state_dict_in_the_torch_save_layout_reads_back_with_views_sharing_a_storage()
    {
        // {"w": storage 0 as (2, 3), "t": its transpose, "row": row 1 of it}
        var pickle = new PickleBuilder().Dict(
            ("w", p => p.Tensor("0", 2, 3)),
            ("t", p => p.Tensor("0", 6, 0, [3, 2], [1, 3])),
            ("row", p => p.Tensor("0", 6, 3, [3], [1]))).Build();
        var path = PickleBuilder.WriteArchive(PathOf("views.pt"), pickle, ("0", [0, 1, 2, 3, 4, 5]));
        var read = WeightFiles.ReadStateDict(path);
        read["w"].data<float>().ToArray().Should().Equal(0, 1, 2, 3, 4, 5);
        read["t"].shape.Should().Equal(3, 2);
        read["t"].contiguous().data<float>().ToArray().Should().Equal(0, 3, 1, 4, 2, 5);
        read["row"].data<float>().ToArray().Should().Equal(3, 4, 5);
    }

    [Fact]
    public void A_text_file_is_refused_as_not_a_zip_torch_file()
    {
        var path = PathOf("notes.pt");
        File.WriteAllText(path, "these are not weights\n");
        ShouldRefuse(path, "not a PyTorch torch.save file", "starts like a text file", "neither a zip archive")
            .Should().NotContain("old PyTorch format");
    }

    [Fact]
    public void A_legacy_torch_save_file_reads_like_a_zip_one()
    {
        var pickle = new PickleBuilder(legacy: true).Dict(
            ("w", p => p.Tensor("0", 2, 3)),
            ("t", p => p.Tensor("0", 6, 0, [3, 2], [1, 3])),
            ("b", p => p.Tensor("1", 2))).Build();
        var path = PickleBuilder.WriteLegacy(PathOf("legacy.pth"), pickle, ("0", [0, 1, 2, 3, 4, 5]), ("1", [7, 8]));
        var read = WeightFiles.ReadStateDict(path);
        read["w"].data<float>().ToArray().Should().Equal(0, 1, 2, 3, 4, 5);
        read["t"].contiguous().data<float>().ToArray().Should().Equal(0, 3, 1, 4, 2, 5);
        read["b"].data<float>().ToArray().Should().Equal(7, 8);
    }

    [Fact]
    public void A_truncated_legacy_file_is_refused_naming_the_storage_cut_short()
    {
        var pickle = new PickleBuilder(legacy: true).Dict(("w", p => p.Tensor("0", 4))).Build();
        var path = PickleBuilder.WriteLegacy(PathOf("legacy.pth"), pickle, ("0", [1, 2, 3, 4]));
        File.WriteAllBytes(path, File.ReadAllBytes(path)[..^5]);
        ShouldRefuse(path, "storage '0'", "truncated");
    }

    [Fact]
    public void A_plain_pickle_without_torch_saves_magic_number_is_refused()
    {
        var path = PathOf("plain.pt");
        File.WriteAllBytes(path, new PickleBuilder().Dict(("w", p => p.Int(1))).Build());
        ShouldRefuse(path, "not a PyTorch torch.save file", "neither a zip archive");
    }

    [Fact]
    public void A_pickle_global_outside_the_allowed_ones_is_refused_by_name_and_never_called()
    {
        // the classic: posix.system("...") as the state dict
        var pickle = new PickleBuilder().Global("posix", "system").Str("touch pwned").Op(0x85).Reduce().Build();
        var path = PickleBuilder.WriteArchive(PathOf("evil.pt"), pickle);
        ShouldRefuse(path, "'posix.system'", "not allowed").Should().NotContain("IObjectConstructor");
    }

    [Fact]
    public void A_stat_pt_holding_a_list_says_what_was_expected_and_what_was_found()
    {
        var pickle = new PickleBuilder().EmptyList().Mark().Int(1).Int(2).Appends().Build();
        var path = PickleBuilder.WriteArchive(PathOf("stat.pt"), pickle);
        var act = () => LatentStatistics.Load(path);
        var message = act.Should().Throw<WeightsFormatException>().Which.Message;
        message.Should().Contain(path).And.Contain("expected a dictionary {\"mean\": Tensor|None, \"var\": Tensor}").And.Contain("found a list of 2");
    }

    [Fact]
    public void A_storage_offset_of_two_to_the_fortieth_is_refused_naming_the_tensor_and_the_offset()
    {
        var pickle = new PickleBuilder().Dict(("blocks.0.w", p => p.Tensor("0", 4, 1L << 40, [2], [1]))).Build();
        var path = PickleBuilder.WriteArchive(PathOf("offset.pt"), pickle, ("0", [1, 2, 3, 4]));
        ShouldRefuse(path, "'blocks.0.w'", "storage offset 1099511627776", "4 elements");
    }

    [Fact]
    public void A_tensor_reaching_beyond_its_storage_is_refused_naming_it() =>
        ShouldRefuse(PickleBuilder.WriteArchive(PathOf("beyond.pt"),
            new PickleBuilder().Dict(("w", p => p.Tensor("0", 4, 1, [2, 2], [2, 1]))).Build(), ("0", [1, 2, 3, 4])),
            "'w'", "reaches element 4", "holds 4");

    [Fact]
    public void A_storage_record_of_the_wrong_size_is_refused_naming_the_tensor() =>
        ShouldRefuse(PickleBuilder.WriteArchive(PathOf("short.pt"),
            new PickleBuilder().Dict(("w", p => p.Tensor("0", 4))).Build(), ("0", [1, 2])),
            "'w'", "needs 16 bytes", "holds 8");

    [Fact]
    public void A_missing_storage_record_is_refused_naming_the_tensor() =>
        ShouldRefuse(PickleBuilder.WriteArchive(PathOf("missing.pt"), new PickleBuilder().Dict(("w", p => p.Tensor("7", 4))).Build()),
            "'w'", "'archive/data/7' is missing");

    [Fact]
    public void A_truncated_pickle_is_refused_as_truncated()
    {
        var pickle = new PickleBuilder().Dict(("w", p => p.Tensor("0", 2))).Build();
        ShouldRefuse(PickleBuilder.WriteArchive(PathOf("cut.pt"), pickle[..^9], ("0", [1, 2])), "archive/data.pkl", "truncated");
    }

    [Fact]
    public void A_string_announcing_four_gigabytes_is_refused_without_allocating_them()
    {
        var pickle = new PickleBuilder().Op((byte)'X').Op(BitConverter.GetBytes(uint.MaxValue)).Op("abc"u8.ToArray()).Build();
        var path = PickleBuilder.WriteArchive(PathOf("huge.pt"), pickle);
        long before = GC.GetAllocatedBytesForCurrentThread();
        ShouldRefuse(path, "announces 4294967295 bytes");
        (GC.GetAllocatedBytesForCurrentThread() - before).Should().BeLessThan(1 << 20);
    }

    [Fact]
    public void A_training_checkpoint_whose_ema_is_not_a_state_dict_is_refused_saying_what_it_is() =>
        ShouldRefuse(PickleBuilder.WriteArchive(PathOf("checkpoint.pt"),
            new PickleBuilder().Dict(("step", p => p.Int(3)), ("ema", p => p.EmptyList())).Build()),
            "entry 'ema' is a list of 0, expected a state dict");

    [Fact]
    public void A_state_dict_entry_that_is_not_a_tensor_is_refused_naming_it() =>
        ShouldRefuse(PickleBuilder.WriteArchive(PathOf("float.pt"), new PickleBuilder().Dict(("w", p => p.Float(1.5))).Build()),
            "'w' is a float, expected a tensor");

    [Fact]
    public void A_zip_without_a_pickle_record_is_refused_as_not_a_torch_file() =>
        ShouldRefuse(RawNpz.Write(PathOf("zip.pt"), ("readme.txt", "hi"u8.ToArray())), "not a PyTorch torch.save file", "'readme.txt'");

    [Fact]
    public void A_training_checkpoint_reads_its_scalars_beside_its_state_dicts()
    {
        var pickle = new PickleBuilder().Dict(("step", p => p.Int(1L << 40)), ("epoch", p => p.Int(2)),
            ("ema", p => p.Dict(("w", q => q.Tensor("0", 2)))), ("lr", p => p.Float(0.25)), ("note", p => p.None())).Build();
        var path = PickleBuilder.WriteArchive(PathOf("checkpoint.pt"), pickle, ("0", [5, 6]));
        var top = TorchPickleFile.ReadDictionary(path);
        top["step"].Should().Be(1L << 40);
        top["lr"].Should().Be(0.25);
        top["note"].Should().BeNull();
        WeightFiles.ReadStateDict(path)["w"].data<float>().ToArray().Should().Equal(5, 6);
    }

    static string ShouldRefuse(string path, params string[] fragments)
    {
        var act = () => WeightFiles.ReadStateDict(path);
        var message = act.Should().Throw<WeightsFormatException>().Which.Message;
        message.Should().Contain(path);
        foreach (var fragment in fragments) message.Should().Contain(fragment);
        return message;
    }
}
