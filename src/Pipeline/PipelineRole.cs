using RaePipeline.Abstractions;

namespace RaePipeline.Pipeline;

/// <summary>The component roles a pipeline file can name (<see cref="PipelineRoles"/> says how each is written and built).</summary>
public enum PipelineRole
{
    Encoder,
    Decoder,
    Denoiser,
    Sampler,
    FeatureExtractor,
    GuideDenoiser,
}

/// <summary>
/// The one table of roles: the YAML key of each, the noun messages and listings use, the contract interface its
/// component implements, and whether it holds weights. A new role is one line here (and its block in the pipeline
/// definition).
/// </summary>
public static class PipelineRoles
{
    sealed record RoleInfo(string Key, string Noun, Type Contract, bool TopLevel, bool HoldsWeights);

    static readonly IReadOnlyDictionary<PipelineRole, RoleInfo> Table = new Dictionary<PipelineRole, RoleInfo>
    {
        [PipelineRole.Encoder] = new("encoder", "encoder", typeof(IEncoder), TopLevel: true, HoldsWeights: true),
        [PipelineRole.Decoder] = new("decoder", "decoder", typeof(IDecoder), TopLevel: true, HoldsWeights: true),
        [PipelineRole.Denoiser] = new("denoiser", "denoiser", typeof(IDenoiser), TopLevel: true, HoldsWeights: true),
        [PipelineRole.Sampler] = new("sampler", "sampler", typeof(ISampler), TopLevel: true, HoldsWeights: false),
        [PipelineRole.FeatureExtractor] = new("feature_extractor", "feature extractor", typeof(IFeatureExtractor), TopLevel: true, HoldsWeights: true),
        [PipelineRole.GuideDenoiser] = new("guidance.guide", "denoiser", typeof(IDenoiser), TopLevel: false, HoldsWeights: true),
    };

    /// <summary>Every role, the encoder first (the others take its latent shape).</summary>
    public static IReadOnlyList<PipelineRole> All { get; } = Enum.GetValues<PipelineRole>();

    /// <summary>Roles written as a top-level block (<c>encoder:</c>, ...); the guide lives inside <c>guidance:</c>.</summary>
    public static IReadOnlyList<PipelineRole> TopLevel { get; } = All.Where(r => Table[r].TopLevel).ToList();

    /// <summary>The contract interfaces a plugin can register components under, in table order.</summary>
    public static IReadOnlyList<Type> Contracts { get; } = All.Select(r => Table[r].Contract).Distinct().ToList();

    /// <summary>The YAML key of a role (<c>encoder</c>, <c>feature_extractor</c>, <c>guidance.guide</c>).</summary>
    public static string Key(this PipelineRole role) => Table[role].Key;

    /// <summary>The contract interface a role's component implements.</summary>
    public static Type Contract(this PipelineRole role) => Table[role].Contract;

    /// <summary>Whether a role's component has weights (loaded, or random when the block names none); samplers have none.</summary>
    public static bool HoldsWeights(this PipelineRole role) => Table[role].HoldsWeights;

    /// <summary>What a component of a contract is called in messages and listings (<c>encoder</c>, <c>feature extractor</c>).</summary>
    public static string NounOf(Type contract) =>
        Table.Values.FirstOrDefault(r => r.Contract == contract)?.Noun ?? contract.Name;
}
