using System.Buffers;
using System.Text.Unicode;

namespace RaePipeline.Host.Configuration;

/// <summary>
/// The text of a pipeline file: UTF-8 (a byte-order mark is skipped), refused with the byte offset, line and column
/// of the first byte that is not UTF-8 instead of being read with replacement characters (which would end up in
/// run folder names and paths).
/// </summary>
public static class PipelineText
{
    public static string Decode(string file, byte[] bytes)
    {
        int start = bytes.AsSpan().StartsWith("\uFEFF"u8) ? 3 : 0;
        var chars = new char[bytes.Length - start];
        var status = Utf8.ToUtf16(bytes.AsSpan(start), chars, out int read, out int written, replaceInvalidSequences: false);
        if (status == OperationStatus.Done) return new string(chars, 0, written);
        int offset = start + read;
        var prefix = chars.AsSpan(0, written);
        int line = prefix.Count('\n') + 1;
        int column = written - (prefix.LastIndexOf('\n') + 1) + 1;
        var hint = offset < 2 && bytes is [0xFF, 0xFE, ..] or [0xFE, 0xFF, ..] ? " (the file looks like UTF-16: save it as UTF-8)" : " (save the file as UTF-8)";
        throw new PipelineConfigurationException(new ConfigurationProblem(file, line, column,
            $"not UTF-8 text: byte 0x{bytes[offset]:X2} at offset {offset} is not valid UTF-8{hint}"));
    }
}
