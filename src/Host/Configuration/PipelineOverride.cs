namespace RaePipeline.Host.Configuration;

/// <summary>
/// A <c>path.to.key=value</c> assignment applied over a pipeline file, with the command-line text it came from
/// (<c>--set jobs.train.steps=100</c>, <c>--seed 3</c>), which problems with its value point at.
/// </summary>
public sealed record PipelineOverride(string Assignment, string Origin)
{
    /// <summary>An assignment given as <c>--set</c> (or from a job that overrides another pipeline, like <c>compare</c>).</summary>
    public static PipelineOverride Set(string assignment) => new(assignment, $"--set {assignment}");

    public static IReadOnlyList<PipelineOverride> Set(IEnumerable<string> assignments) => assignments.Select(Set).ToList();
}
