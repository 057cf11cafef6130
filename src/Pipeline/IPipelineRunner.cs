namespace RaePipeline.Pipeline;

/// <summary>Runs a whole pipeline file, for jobs that orchestrate other runs (<c>compare</c>).</summary>
public interface IPipelineRunner
{
    /// <summary>
    /// Runs <paramref name="pipelinePath"/> with <c>--set</c>-style <paramref name="overrides"/> (<c>path.to.key=value</c>)
    /// into <paramref name="runDirectory"/>, skipping the jobs named in <paramref name="skipJobs"/>.
    /// </summary>
    RunSummary Run(string pipelinePath, IReadOnlyList<string> overrides, string runDirectory, IReadOnlySet<string> skipJobs);
}

/// <summary>What a run left behind: its results and how long it took.</summary>
public sealed record RunSummary(string RunDirectory, RunResults Results, TimeSpan WallTime);
