using System.Text;

namespace RaePipeline.Encoders.Onnx.Protobuf;

/// <summary>Writes protocol-buffer fields to a growing buffer (the inverse of <see cref="ProtoReader"/>).</summary>
public sealed class ProtoWriter
{
    readonly MemoryStream buffer = new();

    public ProtoWriter Varint(int number, long value)
    {
        Key(number, WireType.Varint);
        WriteVarint((ulong)value);
        return this;
    }

    public ProtoWriter Bytes(int number, ReadOnlySpan<byte> value)
    {
        Key(number, WireType.LengthDelimited);
        WriteVarint((ulong)value.Length);
        buffer.Write(value);
        return this;
    }

    public ProtoWriter String(int number, string value) => Bytes(number, Encoding.UTF8.GetBytes(value));

    public ProtoWriter Message(int number, ProtoWriter message) => Bytes(number, message.ToArray());

    public ProtoWriter Float(int number, float value)
    {
        Key(number, WireType.Fixed32);
        Span<byte> bytes = stackalloc byte[4];
        BitConverter.TryWriteBytes(bytes, value);
        buffer.Write(bytes);
        return this;
    }

    /// <summary>Copies a field read by <see cref="ProtoReader"/> unchanged.</summary>
    public ProtoWriter Field(ProtoField field)
    {
        Key(field.Number, field.Type);
        if (field.Type == WireType.Varint) WriteVarint(field.Varint);
        else
        {
            if (field.Type == WireType.LengthDelimited) WriteVarint((ulong)field.Bytes.Length);
            buffer.Write(field.Bytes.Span);
        }
        return this;
    }

    public byte[] ToArray() => buffer.ToArray();

    void Key(int number, WireType type) => WriteVarint(((ulong)number << 3) | (ulong)type);

    void WriteVarint(ulong value)
    {
        while (value >= 0x80)
        {
            buffer.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }
        buffer.WriteByte((byte)value);
    }
}
