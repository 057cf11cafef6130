namespace RaePipeline.Abstractions;

/// <summary>
/// One named component of a role whose class the host builds through its service container (contracts 1.1): the
/// public constructor of <typeparamref name="TComponent"/> may take its <typeparamref name="TOptions"/> (bound from
/// the component's YAML block), the <see cref="ComponentContext"/>, <c>ILogger&lt;T&gt;</c>, <c>ILoggerFactory</c>,
/// and the pipeline's other components by their role key
/// (<c>[FromKeyedServices("encoder")] IEncoder encoder</c>; keys: encoder, decoder, denoiser, sampler,
/// feature_extractor, guidance.guide). The delegate form <see cref="ComponentRegistration{TRole,TOptions}"/> stays.
/// </summary>
public sealed class ComponentClassRegistration<TRole, TComponent, TOptions>
    where TRole : class
    where TComponent : class, TRole
    where TOptions : class, new()
{
    /// <summary>The name pipelines use, e.g. <c>inception-v3-fid</c>.</summary>
    public required string Name { get; init; }

    /// <summary>One line for <c>rae plugins</c>.</summary>
    public required string Description { get; init; }

    /// <summary>
    /// Optional, cheap: what the component will look like without building it, for validation before any heavy
    /// work. Throw <see cref="ComponentConfigurationException"/> for bad options or files.
    /// </summary>
    public Func<ComponentContext, TOptions, ComponentDescription>? Describe { get; init; }

    /// <summary>Optional extra lines for <c>rae plugins</c>.</summary>
    public Func<IEnumerable<string>>? Details { get; init; }
}
