using System.Text;
using YamlDotNet.RepresentationModel;

namespace RaePipeline.Evaluation;

/// <summary>One setting of a compare run: a matrix entry's override path and the value it takes in this run.</summary>
public sealed record MatrixSetting(string Key, MatrixValue Value);

/// <summary>One combination of a compare matrix: its name (a folder name, the row of the tables) and its settings.</summary>
public sealed record MatrixRun(string Name, IReadOnlyList<MatrixSetting> Settings)
{
    /// <summary><c>path=value</c> overrides of this run, in matrix order (a block replaced first is refined by later paths).</summary>
    public IEnumerable<string> Overrides => Settings.Select(s => $"{s.Key}={s.Value.Text}");

    /// <summary>
    /// Every combination of the matrix values, the first key varying slowest. A run's name joins, per entry, the
    /// value's label or else the last segment of the key and the value's text (<c>resnet18_num_steps-50</c>), made
    /// file-name safe and unique with a counter if needed.
    /// </summary>
    public static IReadOnlyList<MatrixRun> Expand(IReadOnlyDictionary<string, List<YamlNode>> matrix)
    {
        if (matrix.Count == 0) throw new ArgumentException("the compare matrix is empty: give at least one override path with its values");
        IEnumerable<List<MatrixSetting>> combinations = [[]];
        foreach (var (key, nodes) in matrix)
        {
            if (nodes.Count == 0) throw new ArgumentException($"the compare matrix entry '{key}' has no values");
            var values = nodes.Select(node => MatrixValue.From(node, key)).ToList();
            combinations = combinations.SelectMany(prefix => values.Select(v => new List<MatrixSetting>(prefix) { new(key, v) }));
        }
        var used = new HashSet<string>(StringComparer.Ordinal);
        var runs = new List<MatrixRun>();
        foreach (var settings in combinations)
        {
            var name = SafeFileName(string.Join("_", settings.Select(s => s.Value.Label ?? $"{s.Key.Split('.')[^1]}-{s.Value.Text}")));
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
