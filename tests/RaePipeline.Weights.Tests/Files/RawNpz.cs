using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace RaePipeline.Weights.Tests.Files;

/// <summary>.npy arrays and .npz archives written byte by byte, so that a test can give any header, valid or not.</summary>
public static class RawNpz
{
    /// <summary>An .npy array: magic, version, header length, the header text (padded as numpy pads), then the data.</summary>
    public static byte[] Npy(string header, byte[] data, int major = 1)
    {
        int prefix = major == 1 ? 10 : 12;
        int padding = (64 - (prefix + header.Length + 1) % 64) % 64;
        var text = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetBytes(header + new string(' ', padding) + "\n");
        var bytes = new byte[prefix + text.Length + data.Length];
        bytes[0] = 0x93;
        "NUMPY"u8.CopyTo(bytes.AsSpan(1));
        bytes[6] = (byte)major;
        if (major == 1) BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(8), (ushort)text.Length);
        else BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), (uint)text.Length);
        text.CopyTo(bytes, prefix);
        data.CopyTo(bytes, prefix + text.Length);
        return bytes;
    }

    public static string Header(string descr, string shape, bool fortranOrder = false) =>
        $"{{'descr': '{descr}', 'fortran_order': {(fortranOrder ? "True" : "False")}, 'shape': {shape}, }}";

    /// <summary>A zip of the given entries (names as given, so duplicates and odd names are possible).</summary>
    public static byte[] Zip(IEnumerable<(string Name, byte[] Bytes)> entries, CompressionLevel level = CompressionLevel.NoCompression)
    {
        using var memory = new MemoryStream();
        using (var zip = new ZipArchive(memory, ZipArchiveMode.Create, leaveOpen: true))
            foreach (var (name, bytes) in entries)
            {
                using var stream = zip.CreateEntry(name, level).Open();
                stream.Write(bytes);
            }
        return memory.ToArray();
    }

    public static string Write(string path, params (string Name, byte[] Bytes)[] entries)
    {
        File.WriteAllBytes(path, Zip(entries));
        return path;
    }
}
