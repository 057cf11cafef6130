namespace RaePipeline.Host.Configuration;

/// <summary>One problem in a pipeline file, with where it is.</summary>
public sealed record ConfigurationProblem(string File, int Line, int Column, string Message)
{
    public override string ToString() => Line > 0 ? $"{File}:{Line}:{Column}: {Message}" : $"{File}: {Message}";
}

/// <summary>A pipeline file that cannot be run: every problem found, each with file, line and column.</summary>
public sealed class PipelineConfigurationException(IReadOnlyList<ConfigurationProblem> problems)
    : Exception(string.Join(Environment.NewLine, problems))
{
    public IReadOnlyList<ConfigurationProblem> Problems { get; } = problems;

    public PipelineConfigurationException(ConfigurationProblem problem) : this([problem]) { }
}
