namespace RaePipeline.Encoders.Onnx;

/// <summary>The names of a graph nearest to a mistyped one, for error messages.</summary>
public static class CloseNames
{
    /// <summary>Up to <paramref name="count"/> candidates, nearest first: by edit distance, names containing the query first.</summary>
    public static IReadOnlyList<string> Nearest(string query, IEnumerable<string> candidates, int count) =>
        candidates
            .Select(c => (Name: c, Contains: c.Contains(query, StringComparison.OrdinalIgnoreCase), Distance: Levenshtein(query, c)))
            .OrderByDescending(x => x.Contains).ThenBy(x => x.Distance).ThenBy(x => x.Name, StringComparer.Ordinal)
            .Take(count).Select(x => x.Name).ToList();

    /// <summary>Insertions, deletions and substitutions turning <paramref name="a"/> into <paramref name="b"/>.</summary>
    static int Levenshtein(string a, string b)
    {
        var row = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++) row[j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            int diagonal = row[0];
            row[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int above = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                diagonal = above;
            }
        }
        return row[b.Length];
    }
}
