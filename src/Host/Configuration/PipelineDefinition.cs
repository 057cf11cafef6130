using RaePipeline.Abstractions;
using RaePipeline.Pipeline;
using YamlDotNet.RepresentationModel;

namespace RaePipeline.Host.Configuration;

/// <summary>
/// The top level of a pipeline file. A new top-level key is one property here (plus its check in the planner); a
/// role's block is a <see cref="ComponentBlock"/> property named like the role's key (<see cref="PipelineRoles"/>).
/// </summary>
public sealed class PipelineDefinition
{
    /// <summary>Name of the pipeline; the default run folder is runs/&lt;name&gt;.</summary>
    public string? Name { get; set; }

    /// <summary><c>auto</c> (CUDA when available, else CPU), <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>.</summary>
    public string Device { get; set; } = "auto";

    public long Seed { get; set; }

    /// <summary>Compute precision of every job (a job's own <c>precision</c> key overrides it): fp32, bf16, fp16 (CUDA only).</summary>
    public Precision Precision { get; set; } = Precision.Fp32;

    /// <summary>TF32 for float32 matmuls and convolutions on CUDA (unset: libtorch's defaults); no effect on CPU.</summary>
    public bool? Tf32 { get; set; }

    /// <summary>Run folder, relative to the current directory.</summary>
    public string? Output { get; set; }

    /// <summary>Extra plugin folders, relative to the pipeline file.</summary>
    public string[] Plugins { get; set; } = [];

    public ComponentBlock? Encoder { get; set; }
    public ComponentBlock? Decoder { get; set; }
    public ComponentBlock? Denoiser { get; set; }
    public ComponentBlock? Sampler { get; set; }
    public ComponentBlock? FeatureExtractor { get; set; }

    /// <summary>Latent statistics file (<c>stat.pt</c> or safetensors), relative to the pipeline file.</summary>
    public string? Statistics { get; set; }

    /// <summary>Bound to <see cref="GuidanceOptions"/> plus its <c>guide</c> component block.</summary>
    public YamlMappingNode? Guidance { get; set; }

    public DataOptions Data { get; set; } = new();

    /// <summary>A list of single-key mappings: <c>- train: { ... }</c>.</summary>
    public YamlSequenceNode? Jobs { get; set; }

    static readonly IReadOnlyDictionary<PipelineRole, System.Reflection.PropertyInfo> RoleBlocks =
        PipelineRoles.TopLevel.ToDictionary(role => role, role =>
            typeof(PipelineDefinition).GetProperties().Single(p => KeyNames.Normalize(p.Name) == KeyNames.Normalize(role.Key())));

    /// <summary>The block of a top-level role, or null when the pipeline names none.</summary>
    public ComponentBlock? Block(PipelineRole role) => (ComponentBlock?)RoleBlocks[role].GetValue(this);
}
