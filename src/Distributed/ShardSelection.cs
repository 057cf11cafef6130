using System.Collections;
using System.Globalization;

namespace RaePipeline.Distributed;

/// <summary>
/// Which shard of a sharded job (<c>sample</c>, <c>encode</c>, <c>stats</c>, <c>reconstruct</c>, <c>eval</c>) this
/// process computes, and where that came from (<see cref="Source"/>): <c>--shard i/N</c>; else a Slurm job array
/// task (<c>SLURM_ARRAY_TASK_ID</c> counted from <c>SLURM_ARRAY_TASK_MIN</c> in steps of
/// <c>SLURM_ARRAY_TASK_STEP</c>, out of <c>SLURM_ARRAY_TASK_COUNT</c> tasks); else a Kubernetes Indexed Job's
/// <c>JOB_COMPLETION_INDEX</c>, with the number of shards from <c>--shards</c> or <c>RAE_SHARDS</c> (Kubernetes
/// does not tell a pod the Job's completions); else the whole run. <see cref="ForRank"/> splits a shard further
/// among the ranks of an MPI run, so array tasks and ranks combine.
/// </summary>
public sealed record ShardSelection(int Index, int Count, string Source)
{
    public const string ShardsVariable = "RAE_SHARDS";

    public static ShardSelection Whole { get; } = new(0, 1, "whole run");

    public bool IsWhole => Count == 1;

    /// <summary>Parses <c>i/N</c> (0 ≤ i &lt; N).</summary>
    public static ShardSelection Parse(string text)
    {
        var parts = text.Split('/');
        if (parts.Length != 2 ||
            !int.TryParse(parts[0].Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var index) ||
            !int.TryParse(parts[1].Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var count) ||
            count < 1 || index < 0 || index >= count)
            throw new ArgumentException($"shard '{text}': expected i/N with 0 ≤ i < N, e.g. 0/4");
        return new ShardSelection(index, count, $"--shard {text}");
    }

    /// <summary>The shard from <paramref name="shard"/> (<c>i/N</c>) or <paramref name="shards"/> and this process's environment.</summary>
    public static ShardSelection Resolve(string? shard, int? shards) =>
        Resolve(shard, shards, Environment.GetEnvironmentVariables().Cast<DictionaryEntry>()
            .ToDictionary(e => (string)e.Key, e => (string?)e.Value ?? "", StringComparer.Ordinal));

    /// <summary>The shard from <paramref name="shard"/> (<c>i/N</c>), else from <paramref name="environment"/>; errors name the option or variable.</summary>
    public static ShardSelection Resolve(string? shard, int? shards, IReadOnlyDictionary<string, string> environment)
    {
        if (shards is < 1) throw new ArgumentException($"shards must be at least 1, got {shards}");
        if (!string.IsNullOrWhiteSpace(shard))
        {
            var given = Parse(shard.Trim());
            if (shards is { } n && n != given.Count)
                throw new ArgumentException($"shard '{shard}' and shards {n} disagree on the number of shards");
            return given;
        }
        long? Number(string name)
        {
            if (!environment.TryGetValue(name, out var text) || string.IsNullOrWhiteSpace(text)) return null;
            return long.TryParse(text.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
                ? value
                : throw new ArgumentException($"environment variable {name}='{text}' is not a whole number");
        }

        if (Number("SLURM_ARRAY_TASK_ID") is { } taskId)
        {
            long count = Number("SLURM_ARRAY_TASK_COUNT")
                ?? throw new ArgumentException("SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not: give --shard i/N");
            long first = Number("SLURM_ARRAY_TASK_MIN") ?? 0, step = Number("SLURM_ARRAY_TASK_STEP") ?? 1;
            if (step < 1) step = 1;
            long offset = taskId - first;
            if (offset < 0 || offset % step != 0 || offset / step >= count)
                throw new ArgumentException(
                    $"SLURM_ARRAY_TASK_ID {taskId} is not one of the {count} tasks {first}, {first + step}, ... (SLURM_ARRAY_TASK_MIN {first}, " +
                    $"SLURM_ARRAY_TASK_STEP {step}): an array given as a list (--array=0,4,7)? Give --shard i/N instead");
            if (shards is { } n && n != count)
                throw new ArgumentException($"shards {n} disagrees with the Slurm array's SLURM_ARRAY_TASK_COUNT {count}");
            return new ShardSelection((int)(offset / step), (int)count, $"Slurm array task {taskId} (SLURM_ARRAY_TASK_ID)");
        }
        if (Number("JOB_COMPLETION_INDEX") is { } completion)
        {
            long count = shards ?? Number(ShardsVariable)
                ?? throw new ArgumentException(
                    $"JOB_COMPLETION_INDEX={completion} (a Kubernetes Indexed Job) needs the number of shards: pass --shards N (the Job's completions) or set {ShardsVariable}");
            if (count < 1 || completion < 0 || completion >= count)
                throw new ArgumentException($"JOB_COMPLETION_INDEX={completion} does not lie in 0..{count - 1} (shards {count})");
            return new ShardSelection((int)completion, (int)count, $"Kubernetes Indexed Job completion {completion} (JOB_COMPLETION_INDEX)");
        }
        if (shards is > 1)
            throw new ArgumentException($"shards {shards} without a shard index: give --shard i/N, or run as a Slurm array task or Kubernetes Indexed Job");
        return Whole;
    }

    /// <summary>
    /// The part of this shard that rank <paramref name="rank"/> of <paramref name="worldSize"/> computes: shard
    /// <c>Index * W + rank</c> of <c>Count * W</c>, so each shard's ranks together cover exactly the shard, in rank order.
    /// </summary>
    public ShardSelection ForRank(int rank, int worldSize)
    {
        if (worldSize < 1 || rank < 0 || rank >= worldSize) throw new ArgumentOutOfRangeException(nameof(rank), rank, $"rank must lie in 0..{worldSize - 1}");
        return worldSize == 1 ? this : new ShardSelection(Index * worldSize + rank, Count * worldSize, $"{Source}, rank {rank} of {worldSize}");
    }

    public ShardSelection ForRank(ProcessGroup group) => ForRank(group.Rank, group.WorldSize);

    public override string ToString() => $"shard {Index}/{Count} ({Source})";
}
