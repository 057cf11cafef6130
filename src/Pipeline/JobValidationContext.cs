namespace RaePipeline.Pipeline;

/// <summary>What a job can check before anything heavy runs: which roles the pipeline names and the data block.</summary>
public sealed class JobValidationContext
{
    public required IReadOnlySet<PipelineRole> Roles { get; init; }

    public required DataOptions Data { get; init; }

    public bool Has(PipelineRole role) => Roles.Contains(role);

    /// <summary>A problem for each of <paramref name="roles"/> the pipeline does not name.</summary>
    public IEnumerable<JobProblem> Require(string job, params PipelineRole[] roles) =>
        roles.Where(r => !Has(r)).Select(r =>
            new JobProblem(null, $"job '{job}' needs a '{r.Key()}' block in the pipeline, and there is none"));
}
