using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using RaePipeline.Host.Configuration;

namespace RaePipeline.Host.Cli;

/// <summary>
/// The <c>&lt;summary&gt;</c> of an options property, read from the XML documentation file the build writes beside
/// its assembly, as one line of help text (<c>&lt;c&gt;</c> and <c>&lt;see cref&gt;</c> become plain words;
/// references to other options become their YAML keys). Empty when the file or the comment is missing.
/// </summary>
static partial class OptionDocumentation
{
    static readonly Dictionary<Assembly, IReadOnlyDictionary<string, XElement>> Files = new();

    public static string Summary(PropertyInfo property)
    {
        var members = Members(property.DeclaringType!.Assembly);
        var name = $"P:{property.DeclaringType!.FullName!.Replace('+', '.')}.{property.Name}";
        return members.TryGetValue(name, out var member) && member.Element("summary") is { } summary ? Text(summary) : "";
    }

    static IReadOnlyDictionary<string, XElement> Members(Assembly assembly)
    {
        lock (Files)
        {
            if (Files.TryGetValue(assembly, out var cached)) return cached;
            var path = Path.ChangeExtension(assembly.Location, ".xml");
            IReadOnlyDictionary<string, XElement> members = new Dictionary<string, XElement>();
            if (File.Exists(path))
            {
                try
                {
                    members = XDocument.Load(path).Descendants("member")
                        .Where(m => m.Attribute("name") != null)
                        .GroupBy(m => m.Attribute("name")!.Value)
                        .ToDictionary(g => g.Key, g => g.First());
                }
                catch (System.Xml.XmlException)
                {
                    // a damaged documentation file only costs the help its descriptions
                }
            }
            return Files[assembly] = members;
        }
    }

    static string Text(XElement element)
    {
        var builder = new StringBuilder();
        foreach (var node in element.Nodes())
        {
            builder.Append(node switch
            {
                XText text => text.Value,
                XElement { Name.LocalName: "see" or "seealso" } see when see.Attribute("cref") is { } cref => CrefWord(cref.Value),
                XElement { Name.LocalName: "paramref" or "typeparamref" } reference => reference.Attribute("name")?.Value,
                XElement other => Text(other),
                _ => "",
            });
        }
        return Whitespace().Replace(builder.ToString(), " ").Trim();
    }

    /// <summary><c>P:Ns.Type.GradAccumulation</c> → <c>grad_accumulation</c>; <c>T:Ns.Type</c> → <c>Type</c>.</summary>
    static string CrefWord(string cref)
    {
        var name = cref.Split('(')[0];
        var last = name[(name.LastIndexOf('.') + 1)..];
        return cref.StartsWith("P:", StringComparison.Ordinal) ? KeyNames.ToSnakeCase(last) : last;
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
