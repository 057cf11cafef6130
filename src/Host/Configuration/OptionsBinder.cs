using System.Collections;
using System.Globalization;
using System.Reflection;
using YamlDotNet.RepresentationModel;

namespace RaePipeline.Host.Configuration;

/// <summary>
/// Binds a YAML node to an options class: keys in snake_case or kebab-case map to PascalCase properties; scalars,
/// enums, nullable values, arrays and lists, dictionaries with string keys, nested option classes, and raw YAML nodes
/// are supported. Every problem (unknown key with the nearest valid name, wrong type) is collected with its line and
/// column. A key without a value (<c>data:</c>) keeps the default of a property that is not nullable.
/// </summary>
public sealed class OptionsBinder(PipelineYaml yaml)
{
    readonly List<ConfigurationProblem> problems = [];
    readonly NullabilityInfoContext nullability = new();

    public IReadOnlyList<ConfigurationProblem> Problems => problems;

    /// <summary>Binds <paramref name="node"/> (null = empty) to a new <paramref name="type"/>; <paramref name="where"/> names the block in messages.</summary>
    public object Bind(YamlNode? node, Type type, string where)
    {
        var instance = Activator.CreateInstance(type)
                       ?? throw new InvalidOperationException($"cannot create options of type {type}");
        if (node == null || IsNull(node)) return instance;
        if (node is not YamlMappingNode mapping)
        {
            problems.Add(yaml.Problem(node, $"{where}: expected a mapping of options"));
            return instance;
        }
        var properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanWrite && p.GetSetMethod() != null)
            .ToDictionary(p => KeyNames.Normalize(p.Name));
        foreach (var (keyNode, valueNode) in mapping.Children)
        {
            var key = (keyNode as YamlScalarNode)?.Value ?? "";
            if (!properties.TryGetValue(KeyNames.Normalize(key), out var property))
            {
                var valid = properties.Values.Select(p => KeyNames.ToSnakeCase(p.Name)).OrderBy(n => n).ToList();
                problems.Add(yaml.Problem(keyNode, $"{where}: {KeyNames.Unknown("key", key, valid)}"));
                continue;
            }
            if (IsNull(valueNode) && !property.PropertyType.IsValueType && nullability.Create(property).WriteState == NullabilityState.NotNull)
                continue;
            if (TryConvert(valueNode, property.PropertyType, $"{where}.{key}", out var value))
                property.SetValue(instance, value);
        }
        return instance;
    }

    bool TryConvert(YamlNode node, Type type, string where, out object? value)
    {
        value = null;
        if (typeof(YamlNode).IsAssignableFrom(type))
        {
            if (!type.IsInstanceOfType(node))
            {
                problems.Add(yaml.Problem(node, $"{where}: expected a {Describe(type)}"));
                return false;
            }
            value = node;
            return true;
        }
        var underlying = Nullable.GetUnderlyingType(type);
        if (IsNull(node))
        {
            if (underlying != null || !type.IsValueType) return true;
            problems.Add(yaml.Problem(node, $"{where}: expected {Describe(type)}, found null"));
            return false;
        }
        type = underlying ?? type;
        if (type == typeof(string) || type.IsPrimitive || type.IsEnum || type == typeof(decimal))
        {
            if (node is not YamlScalarNode scalar)
            {
                problems.Add(yaml.Problem(node, $"{where}: expected {Describe(type)}, found a {(node is YamlSequenceNode ? "list" : "mapping")}"));
                return false;
            }
            return TryConvertScalar(scalar, type, where, out value);
        }
        if (type.IsArray || (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(List<>)))
        {
            var element = type.IsArray ? type.GetElementType()! : type.GetGenericArguments()[0];
            if (node is not YamlSequenceNode sequence)
            {
                problems.Add(yaml.Problem(node, $"{where}: expected a list of {Describe(element)}"));
                return false;
            }
            var list = (IList)Activator.CreateInstance(typeof(List<>).MakeGenericType(element))!;
            bool ok = true;
            for (int i = 0; i < sequence.Children.Count; i++)
            {
                if (TryConvert(sequence.Children[i], element, $"{where}[{i}]", out var item)) list.Add(item);
                else ok = false;
            }
            if (type.IsArray)
            {
                var array = Array.CreateInstance(element, list.Count);
                list.CopyTo(array, 0);
                value = array;
            }
            else value = list;
            return ok;
        }
        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Dictionary<,>) && type.GetGenericArguments()[0] == typeof(string))
        {
            if (node is not YamlMappingNode mapping)
            {
                problems.Add(yaml.Problem(node, $"{where}: expected a mapping"));
                return false;
            }
            var dictionary = (IDictionary)Activator.CreateInstance(type)!;
            bool ok = true;
            foreach (var (k, v) in mapping.Children)
            {
                var key = (k as YamlScalarNode)?.Value ?? "";
                if (TryConvert(v, type.GetGenericArguments()[1], $"{where}.{key}", out var item)) dictionary[key] = item;
                else ok = false;
            }
            value = dictionary;
            return ok;
        }
        if (type.IsClass && type.GetConstructor(Type.EmptyTypes) != null)
        {
            int before = problems.Count;
            value = Bind(node, type, where);
            return problems.Count == before;
        }
        problems.Add(yaml.Problem(node, $"{where}: options of type {type.Name} cannot be bound from YAML"));
        return false;
    }

    bool TryConvertScalar(YamlScalarNode scalar, Type type, string where, out object? value)
    {
        var text = scalar.Value ?? "";
        value = null;
        try
        {
            if (type == typeof(string)) value = text;
            else if (type == typeof(bool))
                value = text.ToLowerInvariant() switch
                {
                    "true" or "yes" or "on" => true,
                    "false" or "no" or "off" => false,
                    _ => throw new FormatException(),
                };
            else if (type.IsEnum)
            {
                var names = Enum.GetNames(type);
                var match = names.FirstOrDefault(n => KeyNames.Normalize(n) == KeyNames.Normalize(text));
                if (match == null)
                {
                    problems.Add(yaml.Problem(scalar, $"{where}: {KeyNames.Unknown("value", text, names.Select(KeyNames.ToSnakeCase).ToList())}"));
                    return false;
                }
                value = Enum.Parse(type, match);
            }
            else value = Convert.ChangeType(text, type, CultureInfo.InvariantCulture);
            return true;
        }
        catch (Exception e) when (e is FormatException or OverflowException or InvalidCastException)
        {
            problems.Add(yaml.Problem(scalar, $"{where}: expected {Describe(type)}, found '{text}'"));
            return false;
        }
    }

    static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Value: null or "~" or "null" or "Null" or "NULL" or "" } s && s.Style == YamlDotNet.Core.ScalarStyle.Plain;

    static string Describe(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(string)) return "a string";
        if (type == typeof(bool)) return "true or false";
        if (type == typeof(int) || type == typeof(long)) return "an integer";
        if (type == typeof(float) || type == typeof(double)) return "a number";
        if (type.IsEnum) return $"one of {string.Join(", ", Enum.GetNames(type).Select(KeyNames.ToSnakeCase))}";
        if (type == typeof(YamlMappingNode)) return "mapping";
        if (type == typeof(YamlSequenceNode)) return "list";
        return type.Name;
    }
}
