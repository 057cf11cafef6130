namespace RaePipeline.Host.Configuration;

/// <summary>How YAML keys (snake_case, kebab-case) meet C# property names, and "did you mean" suggestions.</summary>
public static class KeyNames
{
    /// <summary>Lower case without '_' and '-': <c>input_size</c>, <c>input-size</c> and <c>InputSize</c> are one key.</summary>
    public static string Normalize(string key) =>
        new(key.Where(c => c != '_' && c != '-').Select(char.ToLowerInvariant).ToArray());

    /// <summary>PascalCase to snake_case, for messages and listings.</summary>
    public static string ToSnakeCase(string name)
    {
        var builder = new System.Text.StringBuilder();
        for (int i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0 && (char.IsLower(name[i - 1]) || (i + 1 < name.Length && char.IsLower(name[i + 1]))))
                builder.Append('_');
            builder.Append(char.ToLowerInvariant(name[i]));
        }
        return builder.ToString();
    }

    /// <summary>The candidate closest to <paramref name="key"/> by edit distance, when it is close enough to be a typo.</summary>
    public static string? Nearest(string key, IEnumerable<string> candidates)
    {
        var normalized = Normalize(key);
        var best = candidates
            .Select(c => (Name: c, Distance: EditDistance(normalized, Normalize(c))))
            .OrderBy(x => x.Distance).FirstOrDefault();
        return best.Name != null && best.Distance <= Math.Max(2, normalized.Length / 3) ? best.Name : null;
    }

    /// <summary>"unknown X 'k'; did you mean 'y'? (valid: a, b, c)"</summary>
    public static string Unknown(string what, string key, IReadOnlyCollection<string> valid)
    {
        var nearest = Nearest(key, valid);
        var hint = nearest != null ? $"; did you mean '{nearest}'?" : "";
        return $"unknown {what} '{key}'{hint} (valid: {string.Join(", ", valid)})";
    }

    static int EditDistance(string a, string b)
    {
        var previous = Enumerable.Range(0, b.Length + 1).ToArray();
        for (int i = 1; i <= a.Length; i++)
        {
            var current = new int[b.Length + 1];
            current[0] = i;
            for (int j = 1; j <= b.Length; j++)
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1),
                    previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            previous = current;
        }
        return previous[b.Length];
    }
}
