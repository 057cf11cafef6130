using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Weights;

/// <summary>
/// The header of a numpy <c>.npy</c> array (format versions 1.0 to 3.0): magic, version, header length, then a Python
/// dict literal <c>{'descr': '&lt;f4', 'fortran_order': False, 'shape': (2, 3), }</c>; the data follows at
/// <see cref="DataOffset"/>. Every field is checked as numpy would, and the data size in exact arithmetic.
/// </summary>
public sealed record NpyHeader(string Descr, ScalarType DType, long[] Shape, bool FortranOrder, int DataOffset)
{
    /// <summary>numpy's own limit on the header it reads (<c>max_header_size</c>).</summary>
    public const int MaximumHeaderLength = 10_000;

    static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);

    public long ByteCount => ElementCount * TensorBytes.ElementSize(DType);

    /// <summary>Rows along the first axis (1 for a 0-d array).</summary>
    public long Rows => Shape.Length == 0 ? 1 : Shape[0];

    /// <summary>Bytes of one row along the first axis.</summary>
    public long RowBytes => Shape.Skip(1).Aggregate(1L, (a, b) => a * b) * TensorBytes.ElementSize(DType);

    /// <summary>
    /// Reads the header from <paramref name="stream"/> (positioned at the array's start) and checks that the
    /// <paramref name="length"/> bytes of the array hold exactly its data.
    /// </summary>
    /// <param name="where">The array, for messages (for example <c>entry 'arr_0.npy'</c>).</param>
    public static NpyHeader Read(Stream stream, long length, string where, string path)
    {
        var prefix = new byte[12];
        if (length < 10) throw Refuse(path, where, $"holds {length} bytes, too few for an .npy array");
        TensorBytes.ReadExactly(stream, prefix.AsSpan(0, 10), where, path);
        if (!prefix.AsSpan(0, 6).SequenceEqual(Magic)) throw Refuse(path, where, "is not an .npy array (no \\x93NUMPY magic)");
        int major = prefix[6], minor = prefix[7];
        if (major is < 1 or > 3 || minor != 0)
            throw Refuse(path, where, $"has .npy format version {major}.{minor}; versions 1.0, 2.0 and 3.0 exist");
        long headerLength;
        int headerStart;
        if (major == 1)
        {
            headerLength = BinaryPrimitives.ReadUInt16LittleEndian(prefix.AsSpan(8));
            headerStart = 10;
        }
        else
        {
            if (length < 12) throw Refuse(path, where, $"holds {length} bytes, too few for an .npy {major}.0 array");
            TensorBytes.ReadExactly(stream, prefix.AsSpan(10, 2), where, path);
            headerLength = BinaryPrimitives.ReadUInt32LittleEndian(prefix.AsSpan(8));
            headerStart = 12;
        }
        if (headerLength > MaximumHeaderLength)
            throw Refuse(path, where, $"has a header of {headerLength} bytes, more than numpy's limit of {MaximumHeaderLength}");
        if (headerStart + headerLength > length)
            throw Refuse(path, where, $"has a header of {headerLength} bytes but holds only {length} bytes");
        var headerBytes = new byte[headerLength];
        TensorBytes.ReadExactly(stream, headerBytes, where, path);
        string text;
        try
        {
            text = major == 3
                ? new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(headerBytes)
                : Encoding.Latin1.GetString(headerBytes);
        }
        catch (DecoderFallbackException)
        {
            throw Refuse(path, where, "has a header that is not UTF-8");
        }
        var header = Parse(text, headerStart + (int)headerLength, where, path);
        var needed = TensorBytes.ByteCount(header.Shape, header.DType);
        var available = new BigInteger(length - header.DataOffset);
        if (needed != available)
            throw Refuse(path, where,
                $"of shape {TensorBytes.Format(header.Shape)} '{header.Descr}' needs {needed} bytes of data, the file holds {available}" +
                (needed > available ? " (truncated file?)" : ""));
        return header;
    }

    /// <summary>Writes the version 1.0 header of contiguous <paramref name="tensor"/> (its data follows).</summary>
    public static void Write(Stream stream, Tensor tensor, string name) => Write(stream, tensor.dtype, tensor.shape, name);

    /// <summary>Writes the version 1.0 header of an array of <paramref name="type"/> and <paramref name="shape"/> (its data follows).</summary>
    public static void Write(Stream stream, ScalarType type, long[] shape, string name)
    {
        var descr = type switch
        {
            ScalarType.Byte => "|u1",
            ScalarType.Int8 => "|i1",
            ScalarType.Bool => "|b1",
            ScalarType.Int16 => "<i2",
            ScalarType.Int32 => "<i4",
            ScalarType.Int64 => "<i8",
            ScalarType.Float16 => "<f2",
            ScalarType.Float32 => "<f4",
            ScalarType.Float64 => "<f8",
            _ => throw new ArgumentException($"array '{name}' has dtype {type}, which the npy format does not store"),
        };
        var dimensions = shape.Length == 1 ? $"({shape[0]},)" : $"({string.Join(", ", shape)})";
        var header = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': {dimensions}, }}";
        int total = 10 + header.Length + 1;
        int padding = (64 - total % 64) % 64;
        header = header + new string(' ', padding) + "\n";
        stream.Write(Magic);
        stream.Write([1, 0]);
        Span<byte> length = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(length, (ushort)header.Length);
        stream.Write(length);
        stream.Write(Encoding.ASCII.GetBytes(header));
    }

    static NpyHeader Parse(string text, int dataOffset, string where, string path)
    {
        object? literal;
        try
        {
            var parser = new LiteralParser(text);
            literal = parser.ParseValue();
            parser.ExpectEnd();
        }
        catch (FormatException e)
        {
            throw Refuse(path, where, $"has a header that is not a Python dict literal ({e.Message}): {Quote(text)}");
        }
        if (literal is not Dictionary<string, object?> fields)
            throw Refuse(path, where, $"has a header that is not a dict: {Quote(text)}");
        var keys = fields.Keys.Order(StringComparer.Ordinal).ToList();
        if (!keys.SequenceEqual(["descr", "fortran_order", "shape"]))
            throw Refuse(path, where,
                $"has header keys ({string.Join(", ", keys)}); an .npy header has exactly descr, fortran_order and shape");
        if (fields["descr"] is not string descr)
            throw Refuse(path, where, $"has descr {Describe(fields["descr"])}; only simple dtypes such as '<f4' are supported");
        if (fields["fortran_order"] is not bool fortranOrder)
            throw Refuse(path, where, $"has fortran_order {Describe(fields["fortran_order"])}, expected True or False");
        if (fields["shape"] is not List<object?> { } dims || !IsTuple(dims))
            throw Refuse(path, where, $"has shape {Describe(fields["shape"])}, expected a tuple of integers");
        if (dims.Count > 64) throw Refuse(path, where, $"has {dims.Count} dimensions; numpy allows at most 64");
        var shape = new long[dims.Count];
        for (int i = 0; i < dims.Count; i++)
        {
            if (dims[i] is not BigInteger dim || dim < 0 || dim > long.MaxValue)
                throw Refuse(path, where, $"has shape dimension {i} = {Describe(dims[i])}, expected a non-negative integer");
            shape[i] = (long)dim;
        }
        return new NpyHeader(descr, DTypeOf(descr, where, path), shape, fortranOrder, dataOffset);
    }

    static ScalarType DTypeOf(string descr, string where, string path)
    {
        if (descr.Length < 2) throw Refuse(path, where, $"has dtype '{descr}', which is not a numpy type string");
        char order = descr[0];
        var kind = descr[1..];
        bool singleByte = kind is "u1" or "i1" or "b1";
        if (order is not ('<' or '|' or '=' or '>'))
            throw Refuse(path, where, $"has dtype '{descr}', which is not a numpy type string such as '<f4'");
        if (order == '>' && !singleByte)
            throw Refuse(path, where, $"has big-endian dtype '{descr}'; only little-endian arrays are supported");
        return kind switch
        {
            "u1" => ScalarType.Byte,
            "i1" => ScalarType.Int8,
            "b1" => ScalarType.Bool,
            "i2" => ScalarType.Int16,
            "i4" => ScalarType.Int32,
            "i8" => ScalarType.Int64,
            "f2" => ScalarType.Float16,
            "f4" => ScalarType.Float32,
            "f8" => ScalarType.Float64,
            _ => throw Refuse(path, where,
                $"has dtype '{descr}'; supported are bool, uint8, int8/16/32/64 and float16/32/64 ('|u1', '<f4', ...)"),
        };
    }

    static bool IsTuple(List<object?> list) => list is TupleList;

    static string Describe(object? value) => value switch
    {
        null => "None",
        string s => $"'{s}'",
        bool b => b ? "True" : "False",
        BigInteger i => i.ToString(CultureInfo.InvariantCulture),
        TupleList t => $"a tuple of {t.Count}",
        List<object?> l => $"a list of {l.Count}",
        Dictionary<string, object?> => "a dict",
        _ => value.GetType().Name,
    };

    static string Quote(string text) => text.Length <= 200 ? $"\"{text.Trim()}\"" : $"\"{text[..200]}...\"";

    static WeightsFormatException Refuse(string path, string where, string what) => new($"{path}: {where} {what}", path);

    /// <summary>A Python tuple literal (a list that was written in parentheses).</summary>
    sealed class TupleList : List<object?>;

    /// <summary>
    /// The Python literals an .npy header uses: dicts with string keys, strings, integers, True/False/None, tuples
    /// and lists. Anything else is a <see cref="FormatException"/>; nesting is bounded.
    /// </summary>
    sealed class LiteralParser(string text)
    {
        const int MaximumDepth = 32;
        int position;
        int depth;

        public object? ParseValue()
        {
            SkipSpace();
            if (position >= text.Length) throw new FormatException("unexpected end");
            char c = text[position];
            if (c is '{' or '(' or '[')
            {
                if (++depth > MaximumDepth) throw new FormatException("nested too deeply");
                object value = c == '{' ? ParseDict() : ParseSequence(c == '(' ? ')' : ']', c == '(');
                depth--;
                return value;
            }
            if (c is '\'' or '"') return ParseString();
            if (c is '-' or '+' || char.IsAsciiDigit(c)) return ParseInteger();
            if (char.IsAsciiLetter(c))
            {
                int start = position;
                while (position < text.Length && (char.IsAsciiLetterOrDigit(text[position]) || text[position] == '_')) position++;
                return text[start..position] switch
                {
                    "True" => true,
                    "False" => false,
                    "None" => null,
                    var word => throw new FormatException($"unknown name '{word}' at {start}"),
                };
            }
            throw new FormatException($"unexpected '{c}' at {position}");
        }

        public void ExpectEnd()
        {
            SkipSpace();
            if (position != text.Length) throw new FormatException($"unexpected '{text[position]}' at {position}");
        }

        Dictionary<string, object?> ParseDict()
        {
            position++;
            var result = new Dictionary<string, object?>(StringComparer.Ordinal);
            while (true)
            {
                SkipSpace();
                if (Take('}')) return result;
                if (ParseValue() is not string key) throw new FormatException("dict keys must be strings");
                SkipSpace();
                if (!Take(':')) throw new FormatException($"expected ':' at {position}");
                var value = ParseValue();
                if (!result.TryAdd(key, value)) throw new FormatException($"key '{key}' appears twice");
                SkipSpace();
                if (Take('}')) return result;
                if (!Take(',')) throw new FormatException($"expected ',' or '}}' at {position}");
            }
        }

        List<object?> ParseSequence(char close, bool tuple)
        {
            position++;
            var result = tuple ? new TupleList() : new List<object?>();
            while (true)
            {
                SkipSpace();
                if (Take(close)) return result;
                result.Add(ParseValue());
                SkipSpace();
                if (Take(close))
                {
                    // (3) is the integer 3 in Python, not a tuple; a one-element tuple is written (3,).
                    if (tuple && result.Count == 1) throw new FormatException("a parenthesized value without a comma is not a tuple");
                    return result;
                }
                if (!Take(',')) throw new FormatException($"expected ',' or '{close}' at {position}");
            }
        }

        string ParseString()
        {
            char quote = text[position++];
            var builder = new StringBuilder();
            while (position < text.Length && text[position] != quote)
            {
                if (text[position] == '\\' || text[position] == '\n') throw new FormatException("escapes are not supported in strings");
                builder.Append(text[position++]);
            }
            if (!Take(quote)) throw new FormatException("unterminated string");
            return builder.ToString();
        }

        BigInteger ParseInteger()
        {
            int start = position;
            if (text[position] is '-' or '+') position++;
            while (position < text.Length && char.IsAsciiDigit(text[position])) position++;
            var digits = text[start..position];
            if (position < text.Length && text[position] is 'L' or 'l') position++; // Python 2 long suffix
            if (position - start > 40) throw new FormatException($"integer of {position - start} characters");
            if (!BigInteger.TryParse(digits, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
                throw new FormatException($"'{digits}' is not an integer");
            if (position < text.Length && (text[position] is '.' or 'e' or 'E' || char.IsAsciiLetter(text[position])))
                throw new FormatException($"'{digits}{text[position]}...' is not an integer");
            return value;
        }

        bool Take(char c)
        {
            if (position < text.Length && text[position] == c)
            {
                position++;
                return true;
            }
            return false;
        }

        void SkipSpace()
        {
            while (position < text.Length && char.IsWhiteSpace(text[position])) position++;
        }
    }
}
