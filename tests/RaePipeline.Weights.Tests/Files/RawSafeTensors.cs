using System.Buffers.Binary;
using System.Text;

namespace RaePipeline.Weights.Tests.Files;

/// <summary>safetensors files written byte by byte, so that a test can give any header, valid or not.</summary>
public static class RawSafeTensors
{
    public static byte[] Bytes(string headerJson, byte[] data)
    {
        var json = Encoding.UTF8.GetBytes(headerJson);
        var bytes = new byte[8 + json.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)json.Length);
        json.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + json.Length);
        return bytes;
    }

    public static string Write(string path, string headerJson, byte[] data)
    {
        File.WriteAllBytes(path, Bytes(headerJson, data));
        return path;
    }
}
