using RaePipeline.Host.Configuration;
using RaePipeline.Host.Running;
using RaePipeline.Pipeline;
using YamlDotNet.RepresentationModel;

namespace RaePipeline.Host.Composition.Planning;

/// <summary>
/// The <c>jobs:</c> list: each entry one known job name with options bound to its options class and checked by the
/// job itself. A problem names the option as <c>jobs.&lt;job&gt;.&lt;key&gt;</c> (<c>jobs.sample[1].&lt;key&gt;</c>
/// for the second of several entries of one job). A job block may also carry <c>precision</c> (<see cref="PrecisionChecks"/>).
/// </summary>
static class JobPlanning
{
    public static List<PlannedJob> Plan(PlanningContext planning, JobCatalog jobs, YamlSequenceNode? list, JobValidationContext validation, string device)
    {
        var planned = new List<PlannedJob>();
        if (list == null) return planned;
        var counts = list.Children.OfType<YamlMappingNode>().Where(m => m.Children.Count == 1)
            .GroupBy(m => (m.Children.Keys.Single() as YamlScalarNode)?.Value ?? "").ToDictionary(g => g.Key, g => g.Count());
        var seen = new Dictionary<string, int>();
        foreach (var item in list.Children)
        {
            if (item is not YamlMappingNode { Children.Count: 1 } entry)
            {
                planning.Problem(item, $"jobs: each entry is one job name with its options, e.g. '- train: {{ steps: 100 }}' (jobs: {string.Join(", ", jobs.Names)})");
                continue;
            }
            var (nameNode, optionsNode) = entry.Children.First();
            var name = (nameNode as YamlScalarNode)?.Value ?? "";
            int index = seen[name] = seen.GetValueOrDefault(name, -1) + 1;
            var job = jobs.Find(name);
            if (job == null)
            {
                planning.Problem(nameNode, KeyNames.Unknown("job", name, jobs.Names));
                continue;
            }
            var where = counts[name] > 1 ? $"jobs.{name}[{index}]" : $"jobs.{name}";
            var (jobOptions, precision) = PrecisionChecks.SplitFromJob(planning, optionsNode, where);
            var options = planning.Bind(jobOptions, job.OptionsType, where, out bool ok);
            if (!ok) continue;
            if (precision is { } own)
                PrecisionChecks.Check(planning, PipelineYaml.ValueNode(optionsNode, "precision"), own, device, $"{where}.precision");
            foreach (var problem in job.Validate(validation, options))
            {
                var at = problem.OptionKey == null ? nameNode : PipelineYaml.ValueNode(optionsNode, problem.OptionKey) ?? nameNode;
                planning.Problem(at, $"{where}{(problem.OptionKey == null ? "" : "." + problem.OptionKey)}: {problem.Message}");
            }
            planned.Add(new PlannedJob(job, options, optionsNode, precision));
        }
        return planned;
    }
}
