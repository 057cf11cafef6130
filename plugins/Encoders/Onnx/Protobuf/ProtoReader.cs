using System.Text;

namespace RaePipeline.Encoders.Onnx.Protobuf;

/// <summary>Protocol-buffer wire types (the four a proto3 message uses).</summary>
public enum WireType
{
    Varint = 0,
    Fixed64 = 1,
    LengthDelimited = 2,
    Fixed32 = 5,
}

/// <summary>One field of a message: its number, wire type and value (a varint, or the bytes of the rest).</summary>
public readonly record struct ProtoField(int Number, WireType Type, ulong Varint, ReadOnlyMemory<byte> Bytes)
{
    public string Text => Encoding.UTF8.GetString(Bytes.Span);

    public long Int64 => (long)Varint;
}

/// <summary>
/// Reads the top-level fields of one protocol-buffer message, in order, without a schema. Length-delimited values
/// (strings, bytes, sub-messages, packed arrays) are returned as slices of the input, so nothing large is copied.
/// Throws <see cref="InvalidDataException"/> on a malformed message.
/// </summary>
public static class ProtoReader
{
    public static IEnumerable<ProtoField> Fields(ReadOnlyMemory<byte> message)
    {
        int position = 0;
        while (position < message.Length)
        {
            ulong key = ReadVarint(message.Span, ref position);
            int number = (int)(key >> 3);
            var type = (WireType)(key & 7);
            if (number < 1) throw new InvalidDataException($"field number {number} at byte {position}");
            switch (type)
            {
                case WireType.Varint:
                    yield return new ProtoField(number, type, ReadVarint(message.Span, ref position), default);
                    break;
                case WireType.Fixed64:
                    yield return new ProtoField(number, type, 0, Take(message, ref position, 8));
                    break;
                case WireType.Fixed32:
                    yield return new ProtoField(number, type, 0, Take(message, ref position, 4));
                    break;
                case WireType.LengthDelimited:
                    ulong length = ReadVarint(message.Span, ref position);
                    if (length > (ulong)(message.Length - position))
                        throw new InvalidDataException($"field {number} claims {length} bytes at byte {position}, {message.Length - position} remain");
                    yield return new ProtoField(number, type, 0, Take(message, ref position, (int)length));
                    break;
                default:
                    throw new InvalidDataException($"field {number} has wire type {(int)type}, which no ONNX message uses");
            }
        }
    }

    /// <summary>The values of a repeated integer field, packed (one length-delimited run) or not.</summary>
    public static IEnumerable<long> Int64s(ProtoField field)
    {
        if (field.Type == WireType.Varint)
        {
            yield return field.Int64;
            yield break;
        }
        int position = 0;
        while (position < field.Bytes.Length) yield return (long)ReadVarint(field.Bytes.Span, ref position);
    }

    static ReadOnlyMemory<byte> Take(ReadOnlyMemory<byte> message, ref int position, int length)
    {
        if (length > message.Length - position)
            throw new InvalidDataException($"message ends inside a value at byte {position}");
        var slice = message.Slice(position, length);
        position += length;
        return slice;
    }

    static ulong ReadVarint(ReadOnlySpan<byte> data, ref int position)
    {
        ulong value = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (position >= data.Length) throw new InvalidDataException("message ends inside a varint");
            byte b = data[position++];
            value |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80) return value;
        }
        throw new InvalidDataException($"varint longer than 10 bytes at byte {position}");
    }
}
