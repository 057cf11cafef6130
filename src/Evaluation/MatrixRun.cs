using System.Text;

namespace RaePipeline.Evaluation;

/// <summary>One combination of a compare matrix: its name (a folder name) and its overrides.</summary>
public sealed record MatrixRun(string Name, IReadOnlyList<KeyValuePair<string, string>> Settings)
{
    /// <summary><c>path=value</c> overrides of this run.</summary>
    public IEnumerable<string> Overrides => Settings.Select(s => $"{s.Key}={s.Value}");

    /// <summary>
    /// Every combination of the matrix values, the first key varying slowest. Names are built from the last segment of
    /// each key and its value (<c>input_size-224_num_steps-50</c>), made unique with a counter if needed.
    /// </summary>
    public static IReadOnlyList<MatrixRun> Expand(IReadOnlyDictionary<string, List<string>> matrix)
    {
        if (matrix.Count == 0) throw new ArgumentException("the compare matrix is empty: give at least one override path with its values");
        foreach (var (key, values) in matrix)
            if (values.Count == 0) throw new ArgumentException($"the compare matrix entry '{key}' has no values");
        IEnumerable<List<KeyValuePair<string, string>>> combinations = [[]];
        foreach (var (key, values) in matrix)
            combinations = combinations.SelectMany(prefix => values.Select(v => new List<KeyValuePair<string, string>>(prefix) { new(key, v) }));
        var used = new HashSet<string>(StringComparer.Ordinal);
        var runs = new List<MatrixRun>();
        foreach (var settings in combinations)
        {
            var name = string.Join("_", settings.Select(s => $"{s.Key.Split('.')[^1]}-{s.Value}"));
            name = SafeFileName(name);
            var unique = name;
            for (int i = 2; !used.Add(unique); i++) unique = $"{name}-{i}";
            runs.Add(new MatrixRun(unique, settings));
        }
        return runs;
    }

    static string SafeFileName(string text)
    {
        var builder = new StringBuilder();
        foreach (var c in text)
        {
            var kept = char.IsLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_';
            if (kept != '_' || builder.Length == 0 || builder[^1] != '_') builder.Append(kept);
        }
        var name = builder.ToString().Trim('.', '_');
        return name.Length == 0 ? "run" : name.Length > 80 ? name[..80] : name;
    }
}
