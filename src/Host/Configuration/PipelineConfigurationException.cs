namespace RaePipeline.Host.Configuration;

/// <summary>
/// One problem in a pipeline, with where it is: a line and column of the file, or the command-line argument that
/// put the value there (<see cref="Argument"/>, e.g. <c>--set jobs.train.steps=abc</c>).
/// </summary>
public sealed record ConfigurationProblem(string File, int Line, int Column, string Message, string? Argument = null)
{
    public override string ToString() =>
        Argument != null ? $"{Argument}: {Message}"
        : Line > 0 ? $"{File}:{Line}:{Column}: {Message}"
        : $"{File}: {Message}";
}

/// <summary>A pipeline that cannot be run: every problem found, each with its file and line and column (or argument).</summary>
public sealed class PipelineConfigurationException(IReadOnlyList<ConfigurationProblem> problems)
    : Exception(string.Join(Environment.NewLine, problems))
{
    public IReadOnlyList<ConfigurationProblem> Problems { get; } = problems;

    public PipelineConfigurationException(ConfigurationProblem problem) : this([problem]) { }
}
