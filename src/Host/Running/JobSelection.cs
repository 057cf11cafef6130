using RaePipeline.Host.Composition;
using RaePipeline.Host.Configuration;

namespace RaePipeline.Host.Running;

/// <summary>
/// Which jobs of a pipeline a run runs: all, those named by <c>--only</c>, all but those named by <c>--skip</c>,
/// and for <c>rae &lt;job&gt; --entry N</c> one entry of a job the pipeline lists several times (counting from 0).
/// A name given on the command line that the pipeline does not list is a problem naming the nearest one.
/// </summary>
public sealed record JobSelection
{
    public static JobSelection All { get; } = new();

    public IReadOnlyList<string> Only { get; init; } = [];
    public IReadOnlyList<string> Skip { get; init; } = [];

    /// <summary>With one <see cref="Only"/> job: which of its entries (from 0); null runs every entry.</summary>
    public int? Entry { get; init; }

    /// <summary>Names that the pipeline does not list are ignored instead of refused (runs started by a job, e.g. <c>compare</c>).</summary>
    public bool Lenient { get; init; }

    public IReadOnlyList<PlannedJob> Apply(PipelinePlan plan)
    {
        var listed = plan.Jobs.Select(j => j.Job.Name).Distinct().ToList();
        var problems = new List<ConfigurationProblem>();
        if (!Lenient)
            foreach (var (option, names) in new[] { ("--only", Only), ("--skip", Skip) })
                foreach (var name in names.Where(n => !listed.Contains(n)))
                    problems.Add(new ConfigurationProblem(plan.Yaml.File, 0, 0,
                        $"job '{name}' is not in this pipeline{(KeyNames.Nearest(name, listed) is { } nearest ? $"; did you mean '{nearest}'?" : "")} (its jobs: {(listed.Count > 0 ? string.Join(", ", listed) : "none")})",
                        $"{option} {name}"));
        var selected = plan.Jobs.Where(j => (Only.Count == 0 || Only.Contains(j.Job.Name)) && !Skip.Contains(j.Job.Name)).ToList();
        if (Entry is { } entry)
        {
            if (entry < 0 || entry >= selected.Count)
                problems.Add(new ConfigurationProblem(plan.Yaml.File, 0, 0,
                    $"the pipeline lists {selected.Count} '{string.Join(", ", Only)}' {(selected.Count == 1 ? "entry" : "entries")}: {entry} is outside 0..{selected.Count - 1}",
                    $"--entry {entry}"));
            else selected = [selected[entry]];
        }
        if (problems.Count > 0) throw new PipelineConfigurationException(problems);
        return selected;
    }
}
