using RaePipeline.Abstractions;
using RaePipeline.Host.Configuration;
using RaePipeline.Host.Plugins;
using RaePipeline.Host.Running;
using RaePipeline.Pipeline;
using TorchSharp;
using YamlDotNet.RepresentationModel;

namespace RaePipeline.Host.Composition;

/// <summary>
/// Validates a pipeline before any heavy work and turns it into a <see cref="PipelinePlan"/>: keys and types,
/// device, plugin names, weights and statistics files, component options, shapes across roles (encoder latent vs
/// denoiser and decoder), guidance, and every job's options. All problems are reported together, each with its
/// file, line and column.
/// </summary>
public sealed class PipelinePlanner(ComponentCatalog catalog, JobCatalog jobs)
{
    static readonly (PipelineRole Role, Type Contract)[] TopLevelRoles =
    [
        (PipelineRole.Encoder, typeof(IEncoder)), (PipelineRole.Decoder, typeof(IDecoder)),
        (PipelineRole.Denoiser, typeof(IDenoiser)), (PipelineRole.Sampler, typeof(ISampler)),
        (PipelineRole.FeatureExtractor, typeof(IFeatureExtractor)),
    ];

    static readonly string[] GuidanceMethods = ["none", "cfg", "autoguidance"];

    public PipelinePlan Plan(PipelineYaml yaml)
    {
        var binder = new OptionsBinder(yaml);
        var problems = new List<ConfigurationProblem>();
        var warnings = new List<string>();
        var definition = (PipelineDefinition)binder.Bind(yaml.Root, typeof(PipelineDefinition), "pipeline");

        if (!DeviceSelection.IsValid(definition.Device))
            problems.Add(yaml.Problem(ValueNode(yaml.Root, "device"),
                $"unknown device '{definition.Device}' (expected auto, cpu, cuda or cuda:N)"));

        CheckPrecision(yaml, problems, warnings, ValueNode(yaml.Root, "precision"), definition.Precision, definition.Device, "precision");

        var components = new Dictionary<PipelineRole, PlannedComponent>();
        foreach (var (role, contract) in TopLevelRoles)
        {
            var block = role switch
            {
                PipelineRole.Encoder => definition.Encoder,
                PipelineRole.Decoder => definition.Decoder,
                PipelineRole.Denoiser => definition.Denoiser,
                PipelineRole.Sampler => definition.Sampler,
                _ => definition.FeatureExtractor,
            };
            if (block == null) continue;
            var planned = PlanComponent(yaml, binder, problems, role, contract, block, ValueNode(yaml.Root, role.Key())!);
            if (planned != null) components[role] = planned;
        }

        var guidance = PlanGuidance(yaml, binder, problems, definition.Guidance, components);

        string? statisticsPath = null;
        if (definition.Statistics != null)
        {
            statisticsPath = Path.GetFullPath(Path.Combine(yaml.Directory, definition.Statistics));
            if (!File.Exists(statisticsPath))
                problems.Add(yaml.Problem(ValueNode(yaml.Root, "statistics"), $"statistics file not found: {statisticsPath}"));
        }

        DescribeAndCheckShapes(yaml, problems, warnings, components);

        var plannedJobs = PlanJobs(yaml, binder, problems, warnings, definition, components);

        problems.InsertRange(0, binder.Problems);
        if (problems.Count > 0) throw new PipelineConfigurationException(problems);
        return new PipelinePlan
        {
            Yaml = yaml,
            Definition = definition,
            Components = components,
            Guidance = guidance,
            StatisticsPath = statisticsPath,
            Jobs = plannedJobs,
            Warnings = warnings,
        };
    }

    PlannedComponent? PlanComponent(PipelineYaml yaml, OptionsBinder binder, List<ConfigurationProblem> problems,
        PipelineRole role, Type contract, ComponentBlock block, YamlNode node)
    {
        var nameNode = ValueNode(node, "name") ?? node;
        if (string.IsNullOrEmpty(block.Name))
        {
            problems.Add(yaml.Problem(nameNode, $"{role.Key()}: 'name' is missing (installed: {Installed(contract)})"));
            return null;
        }
        var entry = catalog.Find(contract, block.Name);
        if (entry == null)
        {
            var names = catalog.Names(contract);
            problems.Add(yaml.Problem(nameNode, names.Count == 0
                ? $"{role.Key()}: unknown {RoleNames.Of(contract)} plugin '{block.Name}': no {RoleNames.Of(contract)} plugins are installed (plugin folders: {string.Join(", ", PluginFolders.Roots([]))})"
                : $"{role.Key()}: {KeyNames.Unknown($"{RoleNames.Of(contract)} plugin", block.Name, names)}"));
            return null;
        }
        string? weights = null;
        if (block.Weights != null)
        {
            weights = Path.GetFullPath(Path.Combine(yaml.Directory, block.Weights));
            if (!File.Exists(weights) && !Directory.Exists(weights))
                problems.Add(yaml.Problem(ValueNode(node, "weights"), $"{role.Key()}: weights file not found: {weights}"));
        }
        int before = binder.Problems.Count;
        var options = binder.Bind(block.Options, entry.OptionsType, $"{role.Key()}.options ({block.Name})");
        return binder.Problems.Count == before
            ? new PlannedComponent { Role = role, Entry = entry, Options = options, WeightsPath = weights, Node = node }
            : null;
    }

    GuidanceOptions PlanGuidance(PipelineYaml yaml, OptionsBinder binder, List<ConfigurationProblem> problems,
        YamlMappingNode? node, Dictionary<PipelineRole, PlannedComponent> components)
    {
        if (node == null) return new GuidanceOptions();
        var withoutGuide = new YamlMappingNode(node.Children.Where(kv => KeyNames.Normalize((kv.Key as YamlScalarNode)?.Value ?? "") != "guide"));
        var guidance = (GuidanceOptions)binder.Bind(withoutGuide, typeof(GuidanceOptions), "guidance");
        if (!GuidanceMethods.Contains(guidance.Method))
            problems.Add(yaml.Problem(ValueNode(node, "method"), $"guidance: {KeyNames.Unknown("method", guidance.Method, GuidanceMethods)}"));
        if (guidance.Interval.Length != 2 || !(guidance.Interval[0] < guidance.Interval[1]))
            problems.Add(yaml.Problem(ValueNode(node, "interval"), "guidance.interval: expected [t_min, t_max] with t_min < t_max"));
        var guideNode = ValueNode(node, "guide");
        if (guidance.Method == "autoguidance" && guideNode == null)
            problems.Add(yaml.Problem(node, "guidance: method autoguidance needs a 'guide' block naming the weaker denoiser"));
        if (guideNode != null)
        {
            int before = binder.Problems.Count;
            var block = (ComponentBlock)binder.Bind(guideNode, typeof(ComponentBlock), "guidance.guide");
            if (binder.Problems.Count == before)
            {
                var planned = PlanComponent(yaml, binder, problems, PipelineRole.GuideDenoiser, typeof(IDenoiser), block, guideNode);
                if (planned != null) components[PipelineRole.GuideDenoiser] = planned;
            }
        }
        return guidance;
    }

    static void DescribeAndCheckShapes(PipelineYaml yaml, List<ConfigurationProblem> problems, List<string> warnings,
        Dictionary<PipelineRole, PlannedComponent> components)
    {
        LatentShape? encoderLatent = null;
        foreach (var role in new[] { PipelineRole.Encoder, PipelineRole.Decoder, PipelineRole.Denoiser, PipelineRole.GuideDenoiser, PipelineRole.Sampler, PipelineRole.FeatureExtractor })
        {
            if (!components.TryGetValue(role, out var planned) || planned.Entry.Describe == null) continue;
            var context = new ComponentContext
            {
                Device = torch.CPU,
                WeightsPath = planned.WeightsPath,
                BaseDirectory = yaml.Directory,
                EncoderLatent = encoderLatent,
            };
            try
            {
                planned.Description = planned.Entry.Describe(context, planned.Options);
            }
            catch (ComponentConfigurationException e)
            {
                var optionNode = e.OptionKey == null ? null : ValueNode(ValueNode(planned.Node, "options"), e.OptionKey);
                problems.Add(yaml.Problem(optionNode ?? planned.Node, $"{role.Key()} '{planned.Entry.Name}': {e.Message}"));
                continue;
            }
            warnings.AddRange(planned.Description.Warnings.Select(w => $"{role.Key()} '{planned.Entry.Name}': {w}"));
            if (role == PipelineRole.Encoder) encoderLatent = planned.Description.Latent;
        }
        if (!components.TryGetValue(PipelineRole.Encoder, out var encoder) || encoder.Description?.Latent is not { } produced)
            return;
        foreach (var role in new[] { PipelineRole.Decoder, PipelineRole.Denoiser, PipelineRole.GuideDenoiser })
        {
            if (!components.TryGetValue(role, out var planned) || planned.Description?.Latent is not { } expected) continue;
            if (expected == produced) continue;
            var what = expected.Channels != produced.Channels
                ? $"{expected.Channels} latent channels, but encoder '{encoder.Entry.Name}' produces {produced.Channels}"
                : $"a {expected.Height}x{expected.Width} latent grid, but encoder '{encoder.Entry.Name}' produces {produced.Height}x{produced.Width}";
            problems.Add(yaml.Problem(planned.Node,
                $"{role.Key()} '{planned.Entry.Name}' expects latents {expected}: {what} {produced}"));
        }
    }

    List<PlannedJob> PlanJobs(PipelineYaml yaml, OptionsBinder binder, List<ConfigurationProblem> problems, List<string> warnings,
        PipelineDefinition definition, Dictionary<PipelineRole, PlannedComponent> components)
    {
        var planned = new List<PlannedJob>();
        if (definition.Jobs == null) return planned;
        var validation = new JobValidationContext { Roles = components.Keys.ToHashSet(), Data = definition.Data };
        foreach (var item in definition.Jobs.Children)
        {
            if (item is not YamlMappingNode { Children.Count: 1 } entry)
            {
                problems.Add(yaml.Problem(item, $"jobs: each entry is one job name with its options, e.g. '- train: {{ steps: 100 }}' (jobs: {string.Join(", ", jobs.Names)})"));
                continue;
            }
            var (nameNode, optionsNode) = entry.Children.First();
            var name = (nameNode as YamlScalarNode)?.Value ?? "";
            var job = jobs.Find(name);
            if (job == null)
            {
                problems.Add(yaml.Problem(nameNode, KeyNames.Unknown("job", name, jobs.Names)));
                continue;
            }
            int before = binder.Problems.Count;
            var (jobOptions, precision) = SplitPrecision(binder, optionsNode, $"jobs.{name}");
            var options = binder.Bind(jobOptions, job.OptionsType, $"jobs.{name}");
            if (binder.Problems.Count != before) continue;
            if (precision is not null)
                CheckPrecision(yaml, problems, warnings, ValueNode(optionsNode, "precision"), precision.Value, definition.Device, $"jobs.{name}.precision");
            foreach (var problem in job.Validate(validation, options))
            {
                var at = problem.OptionKey == null ? nameNode : ValueNode(optionsNode, problem.OptionKey) ?? nameNode;
                problems.Add(yaml.Problem(at, $"jobs.{name}: {problem.Message}"));
            }
            planned.Add(new PlannedJob(job, options, optionsNode, precision));
        }
        return planned;
    }

    /// <summary>Every job block may carry <c>precision</c>, which belongs to the runner, not to the job's options.</summary>
    static (YamlNode Options, Precision? Precision) SplitPrecision(OptionsBinder binder, YamlNode node, string where)
    {
        if (node is not YamlMappingNode mapping) return (node, null);
        var entry = mapping.Children.FirstOrDefault(kv => KeyNames.Normalize((kv.Key as YamlScalarNode)?.Value ?? "") == "precision");
        if (entry.Key is null) return (node, null);
        var precision = (JobPrecision)binder.Bind(new YamlMappingNode(entry.Key, entry.Value), typeof(JobPrecision), where);
        return (new YamlMappingNode(mapping.Children.Where(kv => !ReferenceEquals(kv.Key, entry.Key))), precision.Precision);
    }

    sealed class JobPrecision
    {
        public Precision? Precision { get; set; }
    }

    /// <summary>fp16 needs CUDA; bf16 on a CPU without bf16 instructions is allowed with a warning.</summary>
    static void CheckPrecision(PipelineYaml yaml, List<ConfigurationProblem> problems, List<string> warnings, YamlNode? node,
        Precision precision, string device, string key)
    {
        var text = device.Trim().ToLowerInvariant();
        bool onCuda = text.StartsWith("cuda", StringComparison.Ordinal) || (text == "auto" && torch.cuda.is_available());
        if (PrecisionSupport.Refusal(precision, onCuda) is { } refusal)
            problems.Add(yaml.Problem(node, $"{key}: {refusal}"));
        else if (PrecisionSupport.Warning(precision, onCuda) is { } warning)
            warnings.Add($"{key}: {warning}");
    }

    string Installed(Type contract) => string.Join(", ", catalog.Names(contract)) is { Length: > 0 } names ? names : "none";

    /// <summary>The value node under <paramref name="key"/> of a mapping (keys compared without case, '_' or '-').</summary>
    public static YamlNode? ValueNode(YamlNode? node, string key) =>
        node is YamlMappingNode mapping
            ? mapping.Children.FirstOrDefault(kv => KeyNames.Normalize((kv.Key as YamlScalarNode)?.Value ?? "") == KeyNames.Normalize(key)).Value
            : null;
}
