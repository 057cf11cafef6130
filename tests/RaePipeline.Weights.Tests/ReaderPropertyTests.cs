using System.Collections;
using System.IO.Compression;
using CsCheck;
using RaePipeline.Imaging;
using RaePipeline.Latents;
using RaePipeline.Weights.Tests.Files;
using SkiaSharp;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;
using Xunit.Abstractions;

namespace RaePipeline.Weights.Tests;

/// <summary>
/// Every reader against thousands of files made from valid ones the test writes (truncated, bytes flipped, ranges
/// inserted, deleted and spliced, lengths, shapes and offsets set to boundary values, header text rewritten, zip
/// entries and PNG chunks changed with valid checksums so the damage reaches the format's own parser). Each file
/// must either read or be refused with our exception naming the file: never another exception, never a native
/// abort, and never more managed memory than the file's size justifies.
/// </summary>
public class ReaderPropertyTests(ITestOutputHelper output) : TestFolder
{
    /// <summary>Files per reader; RAE_PROPERTY_ITERATIONS raises it for a longer hunt.</summary>
    static readonly int Iterations = int.TryParse(Environment.GetEnvironmentVariable("RAE_PROPERTY_ITERATIONS"), out var n) ? n : 2500;

    [Fact]
    public void Safetensors_files_read_or_are_refused_by_name()
    {
        var pool = Enumerable.Range(0, 6).Select(SafeTensorsBytes).ToArray();
        var files = Gen.Select(Gen.Int[0, pool.Length - 1], Gen.Int[0, 9], Mutations.Some(Mutations.OfBytes), Mutations.Some(Mutations.OfText),
            (i, level, raw, text) => level switch
            {
                0 => pool[i],
                < 5 => Mutation.ApplyAll(pool[i], raw),
                _ => WithSafeTensorsHeader(pool[i], header => Mutation.ApplyAll(header, text)),
            });
        Check<WeightsFormatException>(files, ".safetensors", path => Dispose(SafeTensorsFile.Read(path)), length => (64 << 10) + 24 * length);
    }

    [Fact]
    public void Npz_archives_read_or_are_refused_by_name_whole_and_row_by_row()
    {
        var pool = Enumerable.Range(0, 6).Select(NpzEntries).ToArray();
        var files = Gen.Select(Gen.Int[0, pool.Length - 1], Gen.Int[0, 9], Gen.Int[0, 7], Mutations.Some(Mutations.OfBytes), Mutations.Some(Mutations.OfText), Gen.Bool,
            (i, level, entry, raw, text, deflate) =>
            {
                var entries = pool[i];
                var k = entry % entries.Count;
                return level switch
                {
                    0 => RawNpz.Zip(entries),
                    < 4 => Mutation.ApplyAll(RawNpz.Zip(entries), raw),
                    < 7 => RawNpz.Zip(Replace(entries, k, Mutation.ApplyAll(entries[k].Bytes, raw)), Level(deflate)),
                    _ => RawNpz.Zip(Replace(entries, k, WithNpyHeader(entries[k].Bytes, header => Mutation.ApplyAll(header, text))), Level(deflate)),
                };
            });
        Check<WeightsFormatException>(files, ".npz", path =>
        {
            Dispose(NpzFile.Read(path));
            using var archive = NpzArchive.Open(path);
            foreach (var name in archive.Names)
            {
                using var rows = archive.OpenRows(name);
                while (rows.Remaining > 0) rows.Read(Math.Min(3, rows.Remaining)).Dispose();
            }
        }, length => (512 << 10) + 24 * length);
    }

    [Fact]
    public void Torch_save_files_read_or_are_refused_by_name()
    {
        var pool = Enumerable.Range(0, 6).Select(TorchEntries).ToArray();
        var legacy = Enumerable.Range(0, 3).Select(LegacyTorchBytes).ToArray();
        var legacyFiles = Gen.Select(Gen.Int[0, legacy.Length - 1], Gen.Int[0, 4], Mutations.Some(Mutations.OfBytes),
            (i, level, raw) => level == 0 ? legacy[i] : Mutation.ApplyAll(legacy[i], raw));
        var files = Gen.Frequency((3, TorchFiles(pool)), (1, legacyFiles));
        // a legacy file's pickles are read into a buffer that grows to the file's size when they run past it
        Check<WeightsFormatException>(files, ".pt", path => Dispose(WeightFiles.ReadStateDict(path)), length => (2 << 20) + 640 * length);
    }

    [Fact]
    public void Latent_statistics_files_read_or_are_refused_by_name()
    {
        var pickles = Enumerable.Range(0, 4).Select(seed => ZipEntries(File.ReadAllBytes(SaveStatistics(seed, ".pt")))).ToArray();
        var safetensors = Enumerable.Range(0, 4).Select(seed => File.ReadAllBytes(SaveStatistics(seed, ".safetensors"))).ToArray();
        Check<WeightsFormatException>(TorchFiles(pickles), ".pt", path => LatentStatistics.Load(path).Dispose(), length => (512 << 10) + 640 * length);
        var safetensorsFiles = Gen.Select(Gen.Int[0, safetensors.Length - 1], Gen.Bool, Mutations.Some(Mutations.OfBytes), Mutations.Some(Mutations.OfText),
            (i, raw, bytes, text) => raw
                ? Mutation.ApplyAll(safetensors[i], bytes)
                : WithSafeTensorsHeader(safetensors[i], header => Mutation.ApplyAll(header, text)));
        Check<WeightsFormatException>(safetensorsFiles, ".safetensors", path => LatentStatistics.Load(path).Dispose(), length => (64 << 10) + 24 * length);
    }

    [Fact]
    public void Image_files_decode_or_are_refused_by_name()
    {
        var pool = ImagePool();
        var files = Gen.Select(Gen.Int[0, pool.Length - 1], Gen.Int[0, 9], Gen.Int[0, 15], Mutations.Some(Mutations.OfBytes),
            (i, level, chunk, raw) => level switch
            {
                0 => pool[i],
                < 6 => Mutation.ApplyAll(pool[i], raw),
                _ => WithPngChunk(pool[i], chunk, data => Mutation.ApplyAll(data, raw)),
            });
        // the decoded pixels are as large as the file's format justifies: up to 8256 pixels per byte (see ImageFile)
        Check<ImageFormatException>(files, ".img", path => ImageFile.ReadRgb8(path).Dispose(),
            length => (256 << 10) + 4 * (8 * 1032 * length + 65536) + 2 * length);
    }

    /// <summary>
    /// Reads every generated file: a refusal must be <typeparamref name="TRefusal"/> naming the file, anything else
    /// fails (and CsCheck shrinks it to a small case); managed allocation stays within <paramref name="allowance"/>.
    /// Both outcomes must occur, so the generator reaches the parsers and not only their first check.
    /// </summary>
    void Check<TRefusal>(Gen<byte[]> files, string extension, Action<string> read, Func<long, long> allowance) where TRefusal : Exception
    {
        var path = PathOf("case" + extension);
        int accepted = 0, refused = 0;
        long worst = 0;
        files.Sample(bytes =>
        {
            File.WriteAllBytes(path, bytes);
            using var scope = NewDisposeScope();
            long before = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                read(path);
                accepted++;
            }
            catch (TRefusal e)
            {
                if (!e.Message.Contains(path)) throw new InvalidOperationException($"refusal without the file's path: {e.Message}", e);
                refused++;
            }
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            worst = Math.Max(worst, allocated);
            if (allocated > allowance(bytes.Length))
                throw new InvalidOperationException($"{allocated} bytes allocated reading a file of {bytes.Length} bytes");
        }, iter: Iterations, threads: 1, print: bytes => $"{bytes.Length} bytes: {Convert.ToHexString(bytes.AsSpan(0, Math.Min(bytes.Length, 96)))}...");
        output.WriteLine($"{extension}: {accepted} read, {refused} refused, at most {worst} bytes allocated");
        accepted.Should().BePositive("valid and harmlessly changed files must read");
        refused.Should().BeGreaterThan(Iterations / 4, "most changes must reach a refusal");
    }

    static Gen<byte[]> TorchFiles(List<(string Name, byte[] Bytes)>[] pool) =>
        Gen.Select(Gen.Int[0, pool.Length - 1], Gen.Int[0, 9], Gen.Int[0, 7], Mutations.Some(Mutations.OfBytes), Gen.Bool,
            (i, level, entry, raw, deflate) =>
            {
                var entries = pool[i];
                int pickle = entries.FindIndex(e => e.Name.EndsWith("data.pkl"));
                var k = level < 7 ? pickle : entry % entries.Count;
                return level switch
                {
                    0 => RawNpz.Zip(entries),
                    < 3 => Mutation.ApplyAll(RawNpz.Zip(entries), raw),
                    _ => RawNpz.Zip(Replace(entries, k, Mutation.ApplyAll(entries[k].Bytes, raw)), Level(deflate)),
                };
            });

    static byte[] SafeTensorsBytes(int seed)
    {
        using var scope = NewDisposeScope();
        var generator = new Generator((ulong)seed);
        var tensors = new Dictionary<string, Tensor>
        {
            ["a.weight"] = randn([3, 4], generator: generator),
            ["b"] = randint(0, 100, [5], dtype: int64, generator: generator),
            ["scalar"] = tensor(seed * 0.5, dtype: float64),
        };
        if (seed % 2 == 0) tensors["half"] = randn([2, 2, 2], generator: generator).to(bfloat16);
        if (seed % 3 == 0) tensors["empty"] = zeros(0, 4);
        var path = Path.GetTempFileName();
        SafeTensorsFile.Write(path, tensors, new Dictionary<string, string> { ["seed"] = seed.ToString() });
        return ReadAndDelete(path);
    }

    static List<(string Name, byte[] Bytes)> NpzEntries(int seed)
    {
        using var scope = NewDisposeScope();
        var generator = new Generator((ulong)seed);
        var path = Path.GetTempFileName();
        NpzFile.Write(path, [new("arr_0", randint(0, 256, [4, 3, 2, 3], dtype: uint8, generator: generator)),
            new("arr_1", randint(0, 10, [4], dtype: int64, generator: generator)),
            new("mu", randn([5], dtype: float64, generator: generator)), new("flags", randint(0, 2, [3], generator: generator).to(@bool))]);
        return ZipEntries(ReadAndDelete(path));
    }

    static List<(string Name, byte[] Bytes)> TorchEntries(int seed)
    {
        if (seed % 2 == 1)
        {
            // crafted: views sharing a storage, a nested training checkpoint with scalars
            var pickle = new PickleBuilder().Dict(("step", p => p.Int(seed)), ("ema", p => p.Dict(
                ("w", q => q.Tensor("0", 2, 3)), ("t", q => q.Tensor("0", 6, 0, [3, 2], [1, 3])), ("row", q => q.Tensor("0", 6, 3, [3], [1])),
                ("b", q => q.Tensor("1", 2))))).Build();
            var path = PickleBuilder.WriteArchive(Path.GetTempFileName(), pickle, ("0", [0, 1, 2, 3, 4, 5]), ("1", [seed, -seed]));
            return ZipEntries(ReadAndDelete(path));
        }
        using var scope = NewDisposeScope();
        var generator = new Generator((ulong)seed);
        var dictionary = new Hashtable
        {
            ["blocks.0.weight"] = randn([4, 3], generator: generator),
            ["blocks.0.bias"] = randn([4], generator: generator),
            ["steps"] = randint(0, 9, [2], dtype: int64, generator: generator),
        };
        var file = Path.GetTempFileName();
        using (var stream = File.Create(file)) PyTorchPickler.PickleStateDict(stream, dictionary, leaveOpen: true);
        return ZipEntries(ReadAndDelete(file));
    }

    static byte[] LegacyTorchBytes(int seed)
    {
        var pickle = new PickleBuilder(legacy: true).Dict(("w", p => p.Tensor("0", 2, 3)), ("t", p => p.Tensor("0", 6, 0, [3, 2], [1, 3])),
            ("b", p => p.Tensor("1", seed + 1))).Build();
        var path = PickleBuilder.WriteLegacy(Path.GetTempFileName(), pickle, ("0", [0, 1, 2, 3, 4, 5]),
            ("1", Enumerable.Range(0, seed + 1).Select(i => (float)i).ToArray()));
        return ReadAndDelete(path);
    }

    string SaveStatistics(int seed, string extension)
    {
        var generator = new Generator((ulong)seed);
        var path = PathOf($"stat{seed}{extension}");
        using var statistics = new LatentStatistics(seed % 2 == 0 ? null : randn([4, 2, 2], generator: generator), rand([4, 2, 2], generator: generator));
        statistics.Save(path);
        return path;
    }

    static byte[][] ImagePool()
    {
        var random = new Random(7);
        byte[] Bytes(int n)
        {
            var b = new byte[n];
            random.NextBytes(b);
            return b;
        }
        var blocks = new byte[1, 2, 4];
        for (int i = 0; i < 8; i++) blocks[0, i / 4, i % 4] = (byte)random.Next(256);
        using var bitmap = new SKBitmap(new SKImageInfo(12, 10, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        System.Runtime.InteropServices.Marshal.Copy(Bytes(12 * 10 * 4), 0, bitmap.GetPixels(), 12 * 10 * 4);
        return
        [
            PngBuilder.Encode(12, 10, PngBuilder.Rgb, 8, Bytes(12 * 10 * 3)),
            PngBuilder.Encode(12, 10, PngBuilder.Rgba, 16, Bytes(12 * 10 * 8)),
            PngBuilder.Encode(12, 10, PngBuilder.Palette, 8, Bytes(120).Select(b => (byte)(b % 8)).ToArray(), ("PLTE", Bytes(24)), ("tRNS", Bytes(8))),
            PngBuilder.Encode(12, 10, PngBuilder.GrayAlpha, 8, Bytes(12 * 10 * 2)),
            CmykJpegWriter.Write(blocks),
            GifWriter.Write(12, 10, Bytes(24), Bytes(120).Select(b => (byte)(b % 8)).ToArray(), transparentIndex: 3),
            bitmap.Encode(SKEncodedImageFormat.Jpeg, 90).ToArray(),
            bitmap.Encode(SKEncodedImageFormat.Webp, 100).ToArray(),
        ];
    }

    /// <summary>The file with its JSON header changed (and the length field following the change).</summary>
    static byte[] WithSafeTensorsHeader(byte[] file, Func<byte[], byte[]> change)
    {
        int length = (int)BitConverter.ToUInt64(file);
        var header = change(file[8..(8 + length)]);
        return [.. BitConverter.GetBytes((ulong)header.Length), .. header, .. file[(8 + length)..]];
    }

    /// <summary>The .npy array with its header text changed (and its length field following the change).</summary>
    static byte[] WithNpyHeader(byte[] npy, Func<byte[], byte[]> change)
    {
        int length = BitConverter.ToUInt16(npy, 8);
        var header = change(npy[10..(10 + length)]);
        if (header.Length > ushort.MaxValue) return npy;
        return [.. npy[..8], .. BitConverter.GetBytes((ushort)header.Length), .. header, .. npy[(10 + length)..]];
    }

    /// <summary>The PNG with one chunk's data changed and its CRC recomputed (non-PNG files are returned as they are).</summary>
    static byte[] WithPngChunk(byte[] file, int index, Func<byte[], byte[]> change)
    {
        var chunks = PngBuilder.Chunks(file);
        if (chunks.Count == 0) return file;
        int k = index % chunks.Count;
        chunks[k] = (chunks[k].Type, change(chunks[k].Data));
        return PngBuilder.Assemble(chunks);
    }

    static List<(string Name, byte[] Bytes)> ZipEntries(byte[] zip)
    {
        using var archive = new ZipArchive(new MemoryStream(zip), ZipArchiveMode.Read);
        return archive.Entries.Select(e =>
        {
            using var stream = e.Open();
            using var memory = new MemoryStream();
            stream.CopyTo(memory);
            return (e.FullName, memory.ToArray());
        }).ToList();
    }

    static List<(string Name, byte[] Bytes)> Replace(List<(string Name, byte[] Bytes)> entries, int k, byte[] bytes)
    {
        var copy = entries.ToList();
        copy[k] = (copy[k].Name, bytes);
        return copy;
    }

    static CompressionLevel Level(bool deflate) => deflate ? CompressionLevel.Fastest : CompressionLevel.NoCompression;

    static byte[] ReadAndDelete(string path)
    {
        var bytes = File.ReadAllBytes(path);
        File.Delete(path);
        return bytes;
    }

    static void Dispose(Dictionary<string, Tensor> tensors)
    {
        foreach (var tensor in tensors.Values) tensor.Dispose();
    }
}
