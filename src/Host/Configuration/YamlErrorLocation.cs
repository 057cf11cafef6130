using System.Text.RegularExpressions;
using YamlDotNet.Core;

namespace RaePipeline.Host.Configuration;

/// <summary>
/// Where a YAML syntax error is. YamlDotNet reports some errors at 1:1 although they are elsewhere (a tab used as
/// indentation, an alias of an unknown anchor); those are found in the text.
/// </summary>
static partial class YamlErrorLocation
{
    public static (int Line, int Column) Of(YamlException e, string text)
    {
        var reported = ((int)e.Start.Line, (int)e.Start.Column);
        if (e.Start.Index > 0) return reported;
        if (e.Message.Contains("tab", StringComparison.OrdinalIgnoreCase) && IndentingTab(text) is { } tab) return tab;
        if (e is AnchorNotFoundException && AnchorName().Match(e.Message) is { Success: true } anchor
            && Find(text, "*" + anchor.Groups[1].Value) is { } alias)
            return alias;
        return reported;
    }

    /// <summary>Line and column just past the last character (for errors reported without a position).</summary>
    public static (int Line, int Column) End(string text)
    {
        int line = text.Count(c => c == '\n') + 1;
        return (line, text.Length - (text.LastIndexOf('\n') + 1) + 1);
    }

    /// <summary>YamlDotNet prefixes messages with "(Line: 1, Col: 1, Idx: 0) - (...): "; the location is reported separately.</summary>
    public static string StripLocation(string message)
    {
        int paren = message.IndexOf("): ", StringComparison.Ordinal);
        return message.StartsWith('(') && paren > 0 ? message[(paren + 3)..] : message;
    }

    /// <summary>The first tab in the leading whitespace of a line.</summary>
    static (int, int)? IndentingTab(string text)
    {
        var lines = text.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            int column = 0;
            while (column < lines[i].Length && lines[i][column] is ' ' or '\t')
            {
                if (lines[i][column] == '\t') return (i + 1, column + 1);
                column++;
            }
        }
        return null;
    }

    static (int, int)? Find(string text, string what)
    {
        int index = text.IndexOf(what, StringComparison.Ordinal);
        return index < 0 ? null : End(text[..index]);
    }

    [GeneratedRegex("anchor '([^']*)'")]
    private static partial Regex AnchorName();
}
