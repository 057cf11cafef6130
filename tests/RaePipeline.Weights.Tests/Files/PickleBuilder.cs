using System.Text;

namespace RaePipeline.Weights.Tests.Files;

/// <summary>
/// Protocol-2 pickles written opcode by opcode, as <c>torch.save</c> writes them, so that a test can build any
/// structure (and any hostile one) around tensors whose storages it chooses.
/// </summary>
public sealed class PickleBuilder
{
    readonly MemoryStream bytes = new();
    readonly bool legacy;

    /// <param name="legacy">Persistent ids as the legacy format writes them, with a sixth element (view metadata, None).</param>
    public PickleBuilder(bool legacy = false)
    {
        this.legacy = legacy;
        Op(0x80, 2);
    }

    public PickleBuilder Op(params byte[] code)
    {
        bytes.Write(code);
        return this;
    }

    public PickleBuilder Mark() => Op((byte)'(');
    public PickleBuilder Tuple() => Op((byte)'t');
    public PickleBuilder EmptyTuple() => Op((byte)')');
    public PickleBuilder EmptyDict() => Op((byte)'}');
    public PickleBuilder EmptyList() => Op((byte)']');
    public PickleBuilder SetItems() => Op((byte)'u');
    public PickleBuilder Appends() => Op((byte)'e');
    public PickleBuilder Reduce() => Op((byte)'R');
    public PickleBuilder None() => Op((byte)'N');
    public PickleBuilder False() => Op(0x89);

    public PickleBuilder Str(string text)
    {
        var utf8 = Encoding.UTF8.GetBytes(text);
        Op((byte)'X').Op(BitConverter.GetBytes(utf8.Length));
        return Op(utf8);
    }

    public PickleBuilder Int(long value)
    {
        if (value is >= int.MinValue and <= int.MaxValue) return Op((byte)'J').Op(BitConverter.GetBytes((int)value));
        var little = new System.Numerics.BigInteger(value).ToByteArray();
        return Op(0x8a, (byte)little.Length).Op(little);
    }

    public PickleBuilder Float(double value)
    {
        var big = BitConverter.GetBytes(value);
        Array.Reverse(big);
        return Op((byte)'G').Op(big);
    }

    public PickleBuilder Global(string module, string name) => Op((byte)'c').Op(Encoding.UTF8.GetBytes($"{module}\n{name}\n"));

    /// <summary>A dict of the given entries, each value written by its callback.</summary>
    public PickleBuilder Dict(params (string Key, Action<PickleBuilder> Value)[] entries)
    {
        EmptyDict().Mark();
        foreach (var (key, value) in entries)
        {
            Str(key);
            value(this);
        }
        return SetItems();
    }

    /// <summary><c>torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())</c>.</summary>
    public PickleBuilder Tensor(string storageKey, long numel, long offset, long[] size, long[] stride, string storageType = "FloatStorage")
    {
        Global("torch._utils", "_rebuild_tensor_v2").Mark();
        Mark().Str("storage").Global("torch", storageType).Str(storageKey).Str("cpu").Int(numel);
        if (legacy) None();
        Tuple().Op((byte)'Q');
        Int(offset);
        Mark();
        foreach (var s in size) Int(s);
        Tuple().Mark();
        foreach (var s in stride) Int(s);
        Tuple().False().Global("collections", "OrderedDict").EmptyTuple().Reduce();
        return Tuple().Reduce();
    }

    /// <summary>A contiguous float tensor of <paramref name="shape"/> over all of storage <paramref name="storageKey"/>.</summary>
    public PickleBuilder Tensor(string storageKey, params long[] shape)
    {
        var stride = new long[shape.Length];
        long step = 1;
        for (int i = shape.Length - 1; i >= 0; i--)
        {
            stride[i] = step;
            step *= shape[i];
        }
        return Tensor(storageKey, step, 0, shape, stride);
    }

    public byte[] Build() => bytes.ToArray().Append((byte)'.').ToArray();

    /// <summary>A torch.save archive: <c>archive/data.pkl</c>, <c>archive/version</c> and one <c>archive/data/key</c> per storage.</summary>
    public static string WriteArchive(string path, byte[] pickle, params (string Key, float[] Values)[] storages) =>
        RawNpz.Write(path, [("archive/data.pkl", pickle), ("archive/version", "3\n"u8.ToArray()),
            .. storages.Select(s => ($"archive/data/{s.Key}", s.Values.SelectMany(BitConverter.GetBytes).ToArray()))]);

    /// <summary>
    /// A torch.save file in the layout before PyTorch 1.6: the magic number, protocol version and system info pickles,
    /// <paramref name="pickle"/> (built with <c>legacy: true</c>), the storage keys, then each storage's element count and bytes.
    /// </summary>
    public static string WriteLegacy(string path, byte[] pickle, params (string Key, float[] Values)[] storages)
    {
        using var file = new MemoryStream();
        file.Write(new PickleBuilder().Op(0x8a, 10, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19).Build());
        file.Write(new PickleBuilder().Int(1001).Build());
        file.Write(new PickleBuilder().Dict(("protocol_version", p => p.Int(1001)), ("little_endian", p => p.Op(0x88))).Build());
        file.Write(pickle);
        var keys = new PickleBuilder().EmptyList().Mark();
        foreach (var (key, _) in storages) keys.Str(key);
        file.Write(keys.Appends().Build());
        foreach (var (_, values) in storages)
        {
            file.Write(BitConverter.GetBytes((long)values.Length));
            file.Write(values.SelectMany(BitConverter.GetBytes).ToArray());
        }
        File.WriteAllBytes(path, file.ToArray());
        return path;
    }
}
