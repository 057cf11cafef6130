using System.Reflection;
using RaePipeline.Pipeline;

namespace RaePipeline.Host.Running;

/// <summary>The jobs this host knows: every public IJob with a parameterless constructor in the RaePipeline assemblies beside it.</summary>
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

    /// <summary>Jobs found in the RaePipeline.*.dll assemblies of the host's folder.</summary>
    public static JobCatalog Discover()
    {
        var assemblies = Directory.GetFiles(AppContext.BaseDirectory, "RaePipeline.*.dll")
            .Select(path => Assembly.Load(AssemblyName.GetAssemblyName(path)))
            .Append(typeof(JobCatalog).Assembly)
            .Distinct();
        return new JobCatalog(assemblies
            .SelectMany(a => a.GetExportedTypes())
            .Where(t => typeof(IJob).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false } && t.GetConstructor(Type.EmptyTypes) != null)
            .OrderBy(t => t.FullName, StringComparer.Ordinal)
            .Select(t => (IJob)Activator.CreateInstance(t)!));
    }
}
