using System.Collections;
using System.CommandLine;
using System.CommandLine.Completions;
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using RaePipeline.Host.Configuration;
using YamlDotNet.RepresentationModel;

namespace RaePipeline.Host.Cli;

/// <summary>
/// The command-line options of <c>rae &lt;job&gt;</c>, made from the job's options class: one <c>--kebab-case</c>
/// option per settable property (nested option classes as <c>--schedule.lr</c>), described by the property's
/// documentation with the class's default. Flags need no value (<c>--write-pngs</c>, <c>--write-pngs false</c>);
/// lists take several values (<c>--classes 1 2 3</c>). Given options become overrides of the job's entry, so their
/// values are converted and checked like the YAML's (a bad value names the argument).
/// </summary>
sealed class JobCommandOptions
{
    sealed record Entry(Option Option, string Path, Type Type);

    readonly List<Entry> entries = [];

    /// <summary>Keys that have no option of their own (a global option owns the name, or the type takes YAML).</summary>
    public List<string> ViaSetOnly { get; } = [];

    public JobCommandOptions(Type optionsType, IReadOnlySet<string> reservedNames)
    {
        Collect(optionsType, Activator.CreateInstance(optionsType), "", reservedNames);
    }

    public void AddTo(Command command)
    {
        foreach (var entry in entries) command.Options.Add(entry.Option);
    }

    /// <summary>The options given on the command line as (YAML path below the job, YAML value text, argument text).</summary>
    public IEnumerable<(string Path, string Value, string Origin)> Given(ParseResult result)
    {
        foreach (var entry in entries)
        {
            if (result.GetResult(entry.Option) is not { Implicit: false } given) continue;
            var tokens = given.Tokens.Select(t => t.Value).ToList();
            var origin = string.Join(' ', [given.IdentifierToken?.Value ?? entry.Option.Name, .. tokens]);
            var value = entry.Type == typeof(bool) ? (result.GetValue((Option<bool>)entry.Option) ? "true" : "false")
                : IsList(entry.Type) ? (tokens is [var single] && single.TrimStart().StartsWith('[') ? single : $"[{string.Join(", ", tokens)}]")
                : entry.Type == typeof(string) || entry.Type.IsEnum ? JsonSerializer.Serialize(tokens.LastOrDefault() ?? "")
                : tokens.LastOrDefault() ?? "";
            yield return (entry.Path, value, origin);
        }
    }

    void Collect(Type type, object? defaults, string prefix, IReadOnlySet<string> reservedNames)
    {
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite && p.GetSetMethod() != null))
        {
            var key = prefix + KeyNames.ToSnakeCase(property.Name);
            var value = defaults == null ? null : property.GetValue(defaults);
            var propertyType = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            if (IsOptionsClass(propertyType))
            {
                Collect(propertyType, value, key + ".", reservedNames);
                continue;
            }
            var name = "--" + key.Replace('_', '-');
            if (reservedNames.Contains(name) || !IsScalar(propertyType) && !(IsList(propertyType) && IsScalar(ElementType(propertyType))))
            {
                ViaSetOnly.Add(key);
                continue;
            }
            var description = OptionDocumentation.Summary(property);
            description = $"{description}{(description.Length > 0 ? " " : "")}[default: {Format(value)}]";
            Option option = propertyType == typeof(bool)
                ? new Option<bool>(name) { Description = description }
                : IsList(propertyType)
                    ? new Option<string[]>(name) { Description = description, HelpName = HelpName(ElementType(propertyType)) + " ...", AllowMultipleArgumentsPerToken = true }
                    : new Option<string>(name) { Description = description, HelpName = HelpName(propertyType) };
            if (propertyType.IsEnum)
                option.CompletionSources.Add(_ => Enum.GetNames(propertyType).Select(n => new CompletionItem(KeyNames.ToSnakeCase(n))));
            entries.Add(new Entry(option, key, propertyType));
        }
    }

    static bool IsScalar(Type type) =>
        type == typeof(string) || type.IsPrimitive || type.IsEnum || type == typeof(decimal);

    static bool IsList(Type type) =>
        type.IsArray || (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(List<>));

    static Type ElementType(Type list) => Nullable.GetUnderlyingType(list.IsArray ? list.GetElementType()! : list.GetGenericArguments()[0])
                                          ?? (list.IsArray ? list.GetElementType()! : list.GetGenericArguments()[0]);

    static bool IsOptionsClass(Type type) =>
        type.IsClass && type != typeof(string) && !typeof(IEnumerable).IsAssignableFrom(type) && !typeof(YamlNode).IsAssignableFrom(type)
        && type.GetConstructor(Type.EmptyTypes) != null;

    static string HelpName(Type type) =>
        type == typeof(bool) ? "true|false"
        : type.IsEnum ? string.Join('|', Enum.GetNames(type).Select(KeyNames.ToSnakeCase))
        : type == typeof(int) || type == typeof(long) ? "integer"
        : type == typeof(float) || type == typeof(double) || type == typeof(decimal) ? "number"
        : "text";

    static string Format(object? value) => value switch
    {
        null => "none",
        bool b => b ? "true" : "false",
        string s => s.Length == 0 ? "\"\"" : s,
        Enum e => KeyNames.ToSnakeCase(e.ToString()),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture).ToLowerInvariant(),
        IEnumerable items => "[" + string.Join(", ", items.Cast<object?>().Select(Format)) + "]",
        _ => value.ToString() ?? "",
    };
}
