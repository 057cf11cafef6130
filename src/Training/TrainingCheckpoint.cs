using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using RaePipeline.Weights;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RaePipeline.Training;

/// <summary>
/// Resumable training checkpoints: a folder <c>step-NNNNNNNN</c> per checkpoint holding <c>model.safetensors</c>
/// and <c>ema.safetensors</c> (state dicts with the model's own keys, the official checkpoint key names, so either
/// file loads as a component's <c>weights</c>), <c>optimizer.safetensors</c> (AdamW moments per parameter name:
/// <c>&lt;name&gt;.exp_avg</c>, <c>&lt;name&gt;.exp_avg_sq</c>, <c>&lt;name&gt;.step</c>), <c>rng.safetensors</c>
/// (<c>torch_cpu</c>: the default CPU generator state; <c>generator.&lt;name&gt;</c>: the run's generators) and
/// <c>state.json</c> (step and facts). A checkpoint is written into a hidden temporary folder and renamed into place
/// at the end, so a crash mid-write leaves the earlier checkpoints intact and never a half-written one under a
/// <c>step-</c> name; what such a crash leaves behind is removed by <see cref="RemoveUnfinished"/> when the run
/// starts again, and <see cref="LoadLatestIntact"/> steps back over a checkpoint that was damaged later.
/// </summary>
public static class TrainingCheckpoint
{
    public const string ModelFile = "model.safetensors";
    public const string EmaFile = "ema.safetensors";
    public const string OptimizerFile = "optimizer.safetensors";
    public const string RandomFile = "rng.safetensors";
    public const string StateFile = "state.json";
    const string Prefix = "step-";

    /// <summary>Called after each file of a checkpoint is written, with its name; tests throw here to simulate a crash.</summary>
    internal static Action<string>? AfterFileWritten;

    /// <summary>Writes <paramref name="state"/> as <c>step-N</c> under <paramref name="directory"/>; keeps the newest
    /// <paramref name="keep"/> checkpoints (0 = all). Returns the checkpoint folder.</summary>
    public static string Save(string directory, TrainingState state, int keep = 0)
    {
        Directory.CreateDirectory(directory);
        var final = Path.Combine(directory, FolderName(state.Step));
        var temporary = Path.Combine(directory, $".{FolderName(state.Step)}.tmp-{Guid.NewGuid():N}");
        Directory.CreateDirectory(temporary);
        try
        {
            SafeTensorsFile.Write(Path.Combine(temporary, ModelFile), state.Model.state_dict());
            AfterFileWritten?.Invoke(ModelFile);
            if (state.Ema != null)
            {
                SafeTensorsFile.Write(Path.Combine(temporary, EmaFile), state.Ema.StateDict());
                AfterFileWritten?.Invoke(EmaFile);
            }
            WriteOptimizer(Path.Combine(temporary, OptimizerFile), state);
            AfterFileWritten?.Invoke(OptimizerFile);
            WriteRandomState(Path.Combine(temporary, RandomFile), state);
            AfterFileWritten?.Invoke(RandomFile);
            var json = new JsonObject
            {
                ["step"] = state.Step,
                ["has_ema"] = state.Ema != null,
                ["facts"] = new JsonObject(state.Facts.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
            };
            AtomicFile.Write(Path.Combine(temporary, StateFile),
                stream => JsonSerializer.Serialize(stream, json, new JsonSerializerOptions { WriteIndented = true }));
            AfterFileWritten?.Invoke(StateFile);

            string? replaced = null;
            if (Directory.Exists(final))
            {
                replaced = Path.Combine(directory, $".{FolderName(state.Step)}.old-{Guid.NewGuid():N}");
                Directory.Move(final, replaced);
            }
            Directory.Move(temporary, final);
            if (replaced != null) Directory.Delete(replaced, recursive: true);
        }
        finally
        {
            if (Directory.Exists(temporary)) Directory.Delete(temporary, recursive: true);
        }
        if (keep > 0)
            foreach (var old in List(directory).SkipLast(keep))
                Directory.Delete(old.Folder, recursive: true);
        return final;
    }

    /// <summary>
    /// Clears what an interrupted <see cref="Save"/> leaves under <paramref name="directory"/>: <c>.step-N.tmp-*</c>
    /// (being written) is removed; <c>.step-N.old-*</c> (a complete checkpoint being replaced) is removed, or renamed
    /// back to <c>step-N</c> when the kill came before its replacement was in place. Returns the folders removed.
    /// Call it before a run writes checkpoints again (no other run writes there: the run folder is locked).
    /// </summary>
    public static IReadOnlyList<string> RemoveUnfinished(string directory)
    {
        if (!Directory.Exists(directory)) return [];
        var removed = new List<string>();
        foreach (var folder in Directory.GetDirectories(directory, $".{Prefix}*"))
        {
            var name = Path.GetFileName(folder);
            int old = name.IndexOf(".old-", StringComparison.Ordinal);
            if (old > 0 && !Directory.Exists(Path.Combine(directory, name[1..old])))
                Directory.Move(folder, Path.Combine(directory, name[1..old]));
            else if (old > 0 || name.Contains(".tmp-", StringComparison.Ordinal))
            {
                Directory.Delete(folder, recursive: true);
                removed.Add(folder);
            }
        }
        return removed;
    }

    /// <summary>
    /// Loads the newest checkpoint under <paramref name="directory"/> that <paramref name="load"/> accepts, stepping
    /// back over damaged ones (each skipped with a warning naming it, its error and the checkpoint used instead).
    /// Returns the folder loaded, or null when there is no checkpoint; throws when none of them loads.
    /// </summary>
    public static string? LoadLatestIntact(string directory, Action<string> load, ILogger log)
    {
        var damaged = new List<(string Folder, Exception Error)>();
        foreach (var (_, folder) in Enumerable.Reverse(List(directory)))
        {
            try
            {
                load(folder);
            }
            catch (Exception e) when (e is not OperationCanceledException and not OutOfMemoryException)
            {
                damaged.Add((folder, e));
                continue;
            }
            foreach (var (bad, error) in damaged)
                log.LogWarning("checkpoint {Damaged} cannot be loaded ({Error}): resuming from the previous intact checkpoint {Folder}",
                    bad, error.Message, folder);
            return folder;
        }
        if (damaged.Count == 0) return null;
        throw new TrainingCheckpointException(
            $"no checkpoint under {directory} can be loaded; the newest, {damaged[0].Folder}: {damaged[0].Error.Message}",
            damaged[0].Folder, damaged[0].Error);
    }

    /// <summary>The newest checkpoint folder under <paramref name="directory"/>, or null when there is none.</summary>
    public static string? Latest(string directory) => List(directory).LastOrDefault().Folder;

    /// <summary>Checkpoints under <paramref name="directory"/>, oldest first.</summary>
    public static List<(long Step, string Folder)> List(string directory)
    {
        if (!Directory.Exists(directory)) return [];
        var result = new List<(long, string)>();
        foreach (var folder in Directory.GetDirectories(directory))
        {
            var name = Path.GetFileName(folder);
            if (name.StartsWith(Prefix, StringComparison.Ordinal) &&
                long.TryParse(name[Prefix.Length..], NumberStyles.None, CultureInfo.InvariantCulture, out var step) &&
                File.Exists(Path.Combine(folder, StateFile)))
                result.Add((step, folder));
        }
        return result.OrderBy(c => c.Item1).ToList();
    }

    /// <summary>
    /// Restores <paramref name="state"/> (model, EMA, optimizer moments, generators, torch CPU generator, step and
    /// facts) from <paramref name="folder"/>. Errors name the file and what does not match.
    /// </summary>
    public static void Load(string folder, TrainingState state)
    {
        if (!Directory.Exists(folder)) throw new TrainingCheckpointException($"checkpoint folder not found: {folder}", folder);
        var statePath = Path.Combine(folder, StateFile);
        if (!File.Exists(statePath))
            throw new TrainingCheckpointException($"{folder}: not a complete checkpoint ({StateFile} is missing)", folder);
        JsonObject json;
        try
        {
            json = JsonNode.Parse(File.ReadAllText(statePath))!.AsObject();
        }
        catch (JsonException e)
        {
            throw new TrainingCheckpointException($"{statePath}: not valid JSON: {e.Message}", statePath, e);
        }
        long step = json["step"]?.GetValue<long>()
                    ?? throw new TrainingCheckpointException($"{statePath}: no 'step' entry", statePath);
        bool hasEma = json["has_ema"]?.GetValue<bool>() ?? false;
        if (state.Ema != null && !hasEma)
            throw new TrainingCheckpointException($"{folder}: the run keeps an EMA but the checkpoint has none ({EmaFile})", folder);

        var loaded = new List<Dictionary<string, Tensor>>();
        try
        {
            // Read every file before changing anything, so a damaged checkpoint leaves the state as it was.
            var model = Read(folder, ModelFile, loaded);
            var ema = state.Ema != null ? Read(folder, EmaFile, loaded) : null;
            var optimizer = Read(folder, OptimizerFile, loaded);
            var random = Read(folder, RandomFile, loaded);
            StateDictLoader.Load(state.Model, model, Path.Combine(folder, ModelFile));
            if (ema != null) state.Ema!.Load(ema, Path.Combine(folder, EmaFile));
            LoadOptimizer(Path.Combine(folder, OptimizerFile), optimizer, state);
            LoadRandomState(Path.Combine(folder, RandomFile), random, state);
        }
        finally
        {
            foreach (var tensor in loaded.SelectMany(d => d.Values)) tensor.Dispose();
        }
        state.Step = step;
        state.Facts = (json["facts"]?.AsObject() ?? [])
            .ToDictionary(kv => kv.Key, kv => kv.Value?.GetValue<string>() ?? "", StringComparer.Ordinal);
    }

    static string FolderName(long step) => string.Create(CultureInfo.InvariantCulture, $"{Prefix}{step:D8}");

    /// <summary>A checkpoint file's tensors, also added to <paramref name="loaded"/> for disposal.</summary>
    static Dictionary<string, Tensor> Read(string folder, string file, List<Dictionary<string, Tensor>> loaded)
    {
        var path = Path.Combine(folder, file);
        if (!File.Exists(path)) throw new TrainingCheckpointException($"{folder}: checkpoint file {file} is missing", path);
        var tensors = SafeTensorsFile.Read(path);
        loaded.Add(tensors);
        return tensors;
    }

    static AdamW.State[] OptimizerStates(TrainingState state)
    {
        var states = state.Optimizer.state_dict().State;
        if (states.Count != state.Parameters.Count)
            throw new InvalidOperationException(
                $"the optimizer holds {states.Count} parameters but the training state names {state.Parameters.Count}");
        return states.Select(s => (AdamW.State)s).ToArray();
    }

    static void WriteOptimizer(string path, TrainingState state)
    {
        using var scope = NewDisposeScope();
        var states = OptimizerStates(state);
        var tensors = new List<KeyValuePair<string, Tensor>>();
        for (int i = 0; i < states.Length; i++)
        {
            var name = state.Parameters[i].Name;
            tensors.Add(new($"{name}.exp_avg", states[i].exp_avg));
            tensors.Add(new($"{name}.exp_avg_sq", states[i].exp_avg_sq));
            tensors.Add(new($"{name}.step", torch.tensor(states[i].step, int64)));
        }
        SafeTensorsFile.Write(path, tensors);
    }

    static void LoadOptimizer(string path, Dictionary<string, Tensor> stored, TrainingState state)
    {
        var states = OptimizerStates(state);
        var expected = new HashSet<string>(StringComparer.Ordinal);
        using var noGrad = torch.no_grad();
        for (int i = 0; i < states.Length; i++)
        {
            var (name, parameter) = state.Parameters[i];
            foreach (var suffix in new[] { "exp_avg", "exp_avg_sq", "step" }) expected.Add($"{name}.{suffix}");
            if (!stored.TryGetValue($"{name}.exp_avg", out var average) || !stored.TryGetValue($"{name}.exp_avg_sq", out var squares) ||
                !stored.TryGetValue($"{name}.step", out var count))
                throw new TrainingCheckpointException($"{path}: no optimizer state for parameter '{name}'", path);
            if (!average.shape.SequenceEqual(parameter.shape) || !squares.shape.SequenceEqual(parameter.shape))
                throw new TrainingCheckpointException(
                    $"{path}: optimizer state of '{name}' is [{string.Join(", ", average.shape)}], the parameter is [{string.Join(", ", parameter.shape)}]", path);
            states[i].exp_avg.copy_(average);
            states[i].exp_avg_sq.copy_(squares);
            states[i].step = count.item<long>();
        }
        var unexpected = stored.Keys.Where(k => !expected.Contains(k)).ToList();
        if (unexpected.Count > 0)
            throw new TrainingCheckpointException(
                $"{path}: optimizer state for parameters the model does not train: {string.Join(", ", unexpected.Take(10))}", path);
    }

    static void WriteRandomState(string path, TrainingState state)
    {
        using var scope = NewDisposeScope();
        var tensors = new List<KeyValuePair<string, Tensor>> { new("torch_cpu", torch.get_rng_state()) };
        foreach (var (name, generator) in state.Generators.OrderBy(g => g.Key, StringComparer.Ordinal))
            tensors.Add(new($"generator.{name}", generator.get_state()));
        SafeTensorsFile.Write(path, tensors);
    }

    static void LoadRandomState(string path, Dictionary<string, Tensor> stored, TrainingState state)
    {
        if (!stored.TryGetValue("torch_cpu", out var cpu))
            throw new TrainingCheckpointException($"{path}: no 'torch_cpu' generator state", path);
        foreach (var (name, generator) in state.Generators)
        {
            if (!stored.TryGetValue($"generator.{name}", out var saved))
                throw new TrainingCheckpointException(
                    $"{path}: no state for generator '{name}' (found: {string.Join(", ", stored.Keys)})", path);
            generator.set_state(saved);
        }
        torch.set_rng_state(cpu);
    }
}

/// <summary>A training checkpoint that cannot be resumed from; the message names the file and the mismatch.</summary>
public sealed class TrainingCheckpointException(string message, string? path = null, Exception? inner = null) : Exception(message, inner)
{
    public string? Path { get; } = path;
}
