using System.Buffers.Binary;
using System.Text;
using System.Text.RegularExpressions;
using CsCheck;

namespace RaePipeline.Weights.Tests.Files;

/// <summary>One change to a file's bytes (or to a header's text); its description is what CsCheck prints on failure.</summary>
public sealed record Mutation(string Description, Func<byte[], byte[]> Apply)
{
    public override string ToString() => Description;

    public static byte[] ApplyAll(byte[] bytes, IEnumerable<Mutation> mutations) =>
        mutations.Aggregate(bytes, (current, mutation) => mutation.Apply(current));
}

/// <summary>
/// Generators of hostile changes: truncation, flipped and overwritten bytes, inserted, deleted and spliced ranges,
/// integers set to boundary values (lengths, shapes, offsets), and for text headers numbers and strings replaced.
/// </summary>
public static partial class Mutations
{
    static readonly long[] BoundaryIntegers =
        [0, 1, -1, 2, 7, 8, 255, 256, 65535, 65536, int.MaxValue, 1L << 31, uint.MaxValue, 1L << 32, 1L << 40, long.MaxValue, long.MinValue];

    static readonly string[] BoundaryNumbers =
        ["0", "1", "-1", "-2", "3", "2147483648", "4294967296", "4294967297", "9223372036854775807", "9223372036854775808",
         "18446744073709551616", "99999999999999999999999999999", "1e3", "0.5", "-0", "1.0"];

    static readonly string[] BoundaryStrings =
        ["", "F32", "F64", "BF16", "U8", "BOOL", "I64", "F8_E4M3", "<f4", "|u1", "<f8", ">f4", "|O", "<c8", "dtype", "shape",
         "data_offsets", "__metadata__", "descr", "fortran_order", "storage", "FloatStorage", "\u00e9\u0000"];

    public static Gen<Mutation> OfBytes { get; } = Gen.Frequency(
        (3, Gen.Double.Unit.Select(f => new Mutation($"truncate at {f:P1}", b => b[..(int)(b.Length * f)]))),
        (4, Gen.Select(Gen.Double.Unit, Gen.Byte[1, 255], (f, x) => new Mutation($"xor 0x{x:x2} at {f:P1}", b =>
        {
            if (b.Length == 0) return b;
            var copy = b.ToArray();
            copy[At(copy, f)] ^= x;
            return copy;
        }))),
        (2, Gen.Select(Gen.Double.Unit, Gen.Byte.Array[1, 16], (f, inserted) => new Mutation($"insert {inserted.Length} bytes at {f:P1}", b =>
        {
            int at = (int)(b.Length * f);
            return [.. b[..at], .. inserted, .. b[at..]];
        }))),
        (2, Gen.Select(Gen.Double.Unit, Gen.Int[1, 64], (f, count) => new Mutation($"delete {count} bytes at {f:P1}", b =>
        {
            int at = (int)(b.Length * f);
            return [.. b[..at], .. b[Math.Min(b.Length, at + count)..]];
        }))),
        (1, Gen.Select(Gen.Double.Unit, Gen.Double.Unit, Gen.Int[1, 256], (from, to, count) => new Mutation(
            $"splice {count} bytes from {from:P1} over {to:P1}", b =>
            {
                if (b.Length == 0) return b;
                int source = At(b, from), target = At(b, to), length = Math.Min(count, b.Length - source);
                var copy = b.ToArray();
                Array.Copy(b, source, copy, target, Math.Min(length, copy.Length - target));
                return copy;
            }))),
        (4, Gen.Select(Gen.Double.Unit, Gen.OneOf(Gen.Const(1), Gen.Const(2), Gen.Const(4), Gen.Const(8)), Gen.Int[0, BoundaryIntegers.Length - 1], Gen.Bool,
            (f, width, index, bigEndian) => new Mutation(
                $"write {BoundaryIntegers[index]} as {width}-byte {(bigEndian ? "big" : "little")}-endian at {f:P1}", b =>
                {
                    if (b.Length < width) return b;
                    var copy = b.ToArray();
                    var span = copy.AsSpan(Math.Min(At(copy, f), copy.Length - width), width);
                    long value = BoundaryIntegers[index];
                    for (int i = 0; i < width; i++) span[bigEndian ? width - 1 - i : i] = (byte)(value >> (8 * i));
                    return copy;
                }))));

    /// <summary>Changes to a header's text: a number or a quoted string replaced, brackets swapped, a span removed.</summary>
    public static Gen<Mutation> OfText { get; } = Gen.Frequency(
        (4, Gen.Select(Gen.Int[0, 40], Gen.Int[0, BoundaryNumbers.Length - 1], (k, v) => new Mutation(
            $"number #{k} := {BoundaryNumbers[v]}", b => ReplaceMatch(b, NumberPattern(), k, BoundaryNumbers[v])))),
        (2, Gen.Select(Gen.Int[0, 20], Gen.Int[0, BoundaryStrings.Length - 1], (k, v) => new Mutation(
            $"string #{k} := '{BoundaryStrings[v]}'", b => ReplaceMatch(b, QuotedPattern(), k, Quote(b, BoundaryStrings[v]))))),
        (1, Gen.Select(Gen.Int[0, 20], Gen.OneOf(Gen.Const("["), Gen.Const("]"), Gen.Const("{"), Gen.Const("}"), Gen.Const("("),
            Gen.Const(")"), Gen.Const(","), Gen.Const(":"), Gen.Const("null"), Gen.Const("True")), (k, token) => new Mutation(
            $"bracket #{k} := {token}", b => ReplaceMatch(b, BracketPattern(), k, token)))),
        (1, Gen.Select(Gen.Double.Unit, Gen.Int[1, 24], (f, count) => new Mutation($"cut {count} characters at {f:P1}", b =>
        {
            int at = (int)(b.Length * f);
            return [.. b[..at], .. b[Math.Min(b.Length, at + count)..]];
        }))));

    /// <summary>One to three changes.</summary>
    public static Gen<Mutation[]> Some(Gen<Mutation> mutation) => mutation.Array[1, 3];

    static int At(byte[] bytes, double fraction) => Math.Min(bytes.Length - 1, (int)(bytes.Length * fraction));

    static byte[] ReplaceMatch(byte[] text, Regex pattern, int k, string replacement)
    {
        var s = Encoding.Latin1.GetString(text);
        var matches = pattern.Matches(s);
        if (matches.Count == 0) return text;
        var m = matches[k % matches.Count];
        return Encoding.Latin1.GetBytes(s[..m.Index] + replacement + s[(m.Index + m.Length)..]);
    }

    // JSON headers quote with ", npy headers with '
    static string Quote(byte[] text, string value) => Array.IndexOf(text, (byte)'"') >= 0 ? $"\"{value}\"" : $"'{value}'";

    [GeneratedRegex(@"-?\d+(\.\d+)?")]
    private static partial Regex NumberPattern();

    [GeneratedRegex("\"[^\"]*\"|'[^']*'")]
    private static partial Regex QuotedPattern();

    [GeneratedRegex(@"[\[\]{}(),:]")]
    private static partial Regex BracketPattern();
}
