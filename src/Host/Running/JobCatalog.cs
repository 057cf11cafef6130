using System.Reflection;
using RaePipeline.Pipeline;

namespace RaePipeline.Host.Running;

/// <summary>The jobs this host knows, by name: every public <see cref="IJob"/> class of the RaePipeline assemblies beside it.</summary>
public sealed class JobCatalog
{
    readonly Dictionary<string, IJob> jobs;

    public JobCatalog(IEnumerable<IJob> jobs)
    {
        this.jobs = new Dictionary<string, IJob>(StringComparer.Ordinal);
        foreach (var job in jobs)
            if (!this.jobs.TryAdd(job.Name, job))
                throw new InvalidOperationException($"two jobs are named '{job.Name}': {this.jobs[job.Name].GetType()} and {job.GetType()}");
    }

    public IReadOnlyCollection<IJob> All => jobs.Values;

    public IReadOnlyList<string> Names => jobs.Keys.OrderBy(n => n, StringComparer.Ordinal).ToList();

    public IJob? Find(string name) => jobs.GetValueOrDefault(name);

    /// <summary>Job classes in the RaePipeline.*.dll assemblies of the host's folder (built by the service container).</summary>
    public static IReadOnlyList<Type> DiscoverTypes() =>
        Directory.GetFiles(AppContext.BaseDirectory, "RaePipeline.*.dll")
            .Select(path => Assembly.Load(AssemblyName.GetAssemblyName(path)))
            .Append(typeof(JobCatalog).Assembly)
            .Distinct()
            .SelectMany(a => a.GetExportedTypes())
            .Where(t => typeof(IJob).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false, IsGenericTypeDefinition: false })
            .OrderBy(t => t.FullName, StringComparer.Ordinal)
            .ToList();
}
