namespace RaePipeline.Pipeline;

/// <summary>A step of a pipeline (<c>stats</c>, <c>train</c>, <c>sample</c>, ...), named under <c>jobs:</c> in YAML.</summary>
public interface IJob
{
    /// <summary>The key that names the job in a pipeline file.</summary>
    string Name { get; }

    /// <summary>One line for help texts.</summary>
    string Description { get; }

    /// <summary>The class the job's YAML block is bound to.</summary>
    Type OptionsType { get; }

    /// <summary>
    /// Cheap checks before any heavy work (run by <c>rae validate</c> and before <c>rae run</c>): which roles the job
    /// needs and whether its options make sense. Returns problems as messages naming the option.
    /// </summary>
    IEnumerable<JobProblem> Validate(JobValidationContext context, object options);

    void Run(JobContext context, object options);
}

/// <summary>A problem found by <see cref="IJob.Validate"/>: the option key it concerns (null for the whole job) and what is wrong.</summary>
public sealed record JobProblem(string? OptionKey, string Message);

/// <summary>Base class binding the untyped contract to a typed options class.</summary>
public abstract class Job<TOptions> : IJob where TOptions : class, new()
{
    public abstract string Name { get; }
    public abstract string Description { get; }
    public Type OptionsType => typeof(TOptions);

    public IEnumerable<JobProblem> Validate(JobValidationContext context, object options) =>
        Validate(context, (TOptions)options);

    public void Run(JobContext context, object options) => Run(context, (TOptions)options);

    /// <summary>Roles this job needs; the default checks none.</summary>
    protected virtual IEnumerable<JobProblem> Validate(JobValidationContext context, TOptions options) => [];

    protected abstract void Run(JobContext context, TOptions options);
}
