using RaePipeline.Abstractions;

namespace RaePipeline.Pipeline;

/// <summary>
/// What a job can check before anything heavy runs: which roles the pipeline names, what its components will look
/// like (when their plugins can tell cheaply), the data block and the folder relative paths resolve against.
/// </summary>
public sealed class JobValidationContext
{
    /// <summary>Roles the pipeline names a block for (also when that block has problems of its own).</summary>
    public required IReadOnlySet<PipelineRole> Roles { get; init; }

    public required DataOptions Data { get; init; }

    /// <summary>What each component will look like, for the roles whose plugin described it.</summary>
    public IReadOnlyDictionary<PipelineRole, ComponentDescription> Descriptions { get; init; } =
        new Dictionary<PipelineRole, ComponentDescription>();

    /// <summary>Folder of the pipeline file; relative paths in options resolve against it (null: the current folder).</summary>
    public string? PipelineDirectory { get; init; }

    public bool Has(PipelineRole role) => Roles.Contains(role);

    public ComponentDescription? Describe(PipelineRole role) => Descriptions.GetValueOrDefault(role);

    public string ResolvePath(string path) =>
        Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(PipelineDirectory ?? ".", path));

    /// <summary>A problem for each of <paramref name="roles"/> the pipeline does not name.</summary>
    public IEnumerable<JobProblem> Require(string job, params PipelineRole[] roles) =>
        roles.Where(r => !Has(r)).Select(r =>
            new JobProblem(null, $"job '{job}' needs a '{r.Key()}' block in the pipeline, and there is none"));
}
