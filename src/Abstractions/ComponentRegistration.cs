namespace RaePipeline.Abstractions;

/// <summary>
/// One named component of a role (<see cref="IEncoder"/>, <see cref="IDecoder"/>, <see cref="IDenoiser"/>,
/// <see cref="ISampler"/>, <see cref="IFeatureExtractor"/>). <typeparamref name="TOptions"/> is bound from the
/// component's YAML block (keys in snake_case or kebab-case map to its properties).
/// </summary>
public sealed class ComponentRegistration<TRole, TOptions>
    where TRole : class
    where TOptions : class, new()
{
    /// <summary>The name pipelines use, e.g. <c>dinov2</c>, <c>dit-dh</c>, <c>euler</c>.</summary>
    public required string Name { get; init; }

    /// <summary>One line for <c>rae plugins</c>.</summary>
    public required string Description { get; init; }

    /// <summary>Builds the component: reads configuration and weights, places it on the context's device.</summary>
    public required Func<ComponentContext, TOptions, TRole> Create { get; init; }

    /// <summary>
    /// Optional, cheap: what the component will look like (shapes) without loading weights, for validation
    /// before any heavy work. Throw <see cref="ComponentConfigurationException"/> for bad options or files.
    /// </summary>
    public Func<ComponentContext, TOptions, ComponentDescription>? Describe { get; init; }

    /// <summary>Optional extra lines for <c>rae plugins</c> (presets, parameter counts).</summary>
    public Func<IEnumerable<string>>? Details { get; init; }
}
