using RaePipeline.Abstractions;
using RaePipeline.Host.Configuration;
using RaePipeline.Pipeline;
using YamlDotNet.RepresentationModel;
using static TorchSharp.torch;

namespace RaePipeline.Host.Composition.Planning;

/// <summary>
/// The <c>precision</c> key of the pipeline and of each job block: fp16 needs CUDA (refused elsewhere, with why); bf16
/// on a CPU without bf16 instructions is allowed with a warning. A job's <c>precision</c> belongs to the runner, not
/// to the job's options, so it is split off before the options are bound.
/// </summary>
static class PrecisionChecks
{
    public static void Check(PlanningContext planning, YamlNode? node, Precision precision, string device, string key)
    {
        var text = device.Trim().ToLowerInvariant();
        bool onCuda = text.StartsWith("cuda", StringComparison.Ordinal) || (text == "auto" && cuda.is_available());
        if (PrecisionSupport.Refusal(precision, onCuda) is { } refusal)
            planning.Problem(node, $"{key}: {refusal}");
        else if (PrecisionSupport.Warning(precision, onCuda) is { } warning)
            planning.Warnings.Add($"{key}: {warning}");
    }

    /// <summary>The job block without its <c>precision</c> entry, and that entry's value (null when absent or unbindable).</summary>
    public static (YamlNode Options, Precision? Precision) SplitFromJob(PlanningContext planning, YamlNode node, string where)
    {
        if (node is not YamlMappingNode mapping) return (node, null);
        var entry = mapping.Children.FirstOrDefault(kv => KeyNames.Normalize((kv.Key as YamlScalarNode)?.Value ?? "") == "precision");
        if (entry.Key is null) return (node, null);
        var bound = (JobPrecision)planning.Bind(new YamlMappingNode(entry.Key, entry.Value), typeof(JobPrecision), where, out _);
        return (new YamlMappingNode(mapping.Children.Where(kv => !ReferenceEquals(kv.Key, entry.Key))), bound.Precision);
    }

    sealed class JobPrecision
    {
        public Precision? Precision { get; set; }
    }
}
