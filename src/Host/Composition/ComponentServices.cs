using Microsoft.Extensions.DependencyInjection;

namespace RaePipeline.Host.Composition;

/// <summary>
/// What a class-form component's constructor can ask for: its bound options and its <c>ComponentContext</c> (given
/// per component) on top of the run's services (loggers, the other components by role key). The constructor takes
/// any of them, in any order, so a component asks only for what it uses.
/// </summary>
public sealed class ComponentServices(IServiceProvider run, params object[] given)
    : IKeyedServiceProvider, IServiceProviderIsKeyedService
{
    public object? GetService(Type serviceType) =>
        serviceType == typeof(IServiceProviderIsService) || serviceType == typeof(IServiceProviderIsKeyedService) ? this
        : given.FirstOrDefault(serviceType.IsInstanceOfType) ?? run.GetService(serviceType);

    public object? GetKeyedService(Type serviceType, object? serviceKey) =>
        ((IKeyedServiceProvider)run).GetKeyedService(serviceType, serviceKey);

    public object GetRequiredKeyedService(Type serviceType, object? serviceKey) =>
        ((IKeyedServiceProvider)run).GetRequiredKeyedService(serviceType, serviceKey);

    public bool IsService(Type serviceType) =>
        given.Any(serviceType.IsInstanceOfType) || run.GetService<IServiceProviderIsService>()?.IsService(serviceType) == true;

    public bool IsKeyedService(Type serviceType, object? serviceKey) =>
        run.GetService<IServiceProviderIsKeyedService>()?.IsKeyedService(serviceType, serviceKey) == true;
}
