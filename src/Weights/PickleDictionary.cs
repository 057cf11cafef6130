namespace RaePipeline.Weights;

/// <summary>
/// A Python <c>dict</c> or <c>OrderedDict</c> read from a pickle, in insertion order. Keys are Python strings,
/// integers (<see cref="long"/> or <see cref="System.Numerics.BigInteger"/>), floats or booleans; values are
/// <c>null</c> (None), <see cref="bool"/>, integers, <see cref="double"/>, <see cref="string"/>, <c>byte[]</c>,
/// <c>object?[]</c> (tuples), <see cref="List{T}"/> of values (lists), nested dictionaries and
/// <see cref="TorchTensorReference"/> (tensors whose data stays in the file until read).
/// </summary>
public sealed class PickleDictionary
{
    readonly List<object> keys = [];
    readonly Dictionary<object, object?> values = [];

    public int Count => keys.Count;

    public IReadOnlyList<object> Keys => keys;

    public bool Contains(object key) => values.ContainsKey(key);

    public bool TryGetValue(object key, out object? value) => values.TryGetValue(key, out value);

    public object? this[object key] =>
        values.TryGetValue(key, out var value) ? value : throw new KeyNotFoundException($"no entry '{key}'");

    public IEnumerable<KeyValuePair<object, object?>> Entries => keys.Select(k => new KeyValuePair<object, object?>(k, values[k]));

    internal void Set(object key, object? value)
    {
        if (!values.ContainsKey(key)) keys.Add(key);
        values[key] = value;
    }

    /// <summary>The keys as a short list for messages.</summary>
    public string DescribeKeys() =>
        Count == 0 ? "no entries" : string.Join(", ", keys.Take(12).Select(k => $"'{k}'")) + (Count > 12 ? $", ... ({Count - 12} more)" : "");
}
