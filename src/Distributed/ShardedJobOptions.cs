namespace RaePipeline.Distributed;

/// <summary>
/// The options of a job that runs whole, as ranks under MPI, or as shards of an array job (<c>sample</c>,
/// <c>encode</c>, <c>stats</c>, <c>reconstruct</c>, <c>eval</c>): YAML keys <c>shard</c>, <c>shards</c>, <c>merge</c>,
/// command-line options <c>--shard</c>, <c>--shards</c>, <c>--merge</c>.
/// </summary>
public abstract class ShardedJobOptions
{
    /// <summary>
    /// <c>i/N</c>: compute only shard i of N, whose partial results a later <c>--merge</c> joins into what one run
    /// writes. Without it, a Slurm array task or Kubernetes Indexed Job takes its shard from the environment.
    /// </summary>
    public string? Shard { get; set; }

    /// <summary>The number of shards of a Kubernetes Indexed Job (its completions; or env <c>RAE_SHARDS</c>).</summary>
    public int? Shards { get; set; }

    /// <summary>Join the partial results every shard wrote into the one result of a single run (computes nothing; every shard must be done).</summary>
    public bool Merge { get; set; }

    /// <summary>This process's shard: <see cref="Shard"/>, else the environment's (see <see cref="ShardSelection.Resolve(string?, int?)"/>).</summary>
    public ShardSelection Selection() => ShardSelection.Resolve(Shard, Shards);

    /// <summary>Problems of <see cref="Shard"/> and <see cref="Shards"/>, as (YAML key, message).</summary>
    public IEnumerable<(string Key, string Message)> ShardProblems()
    {
        if (Shard != null)
        {
            string? problem = null;
            try
            {
                ShardSelection.Parse(Shard);
            }
            catch (ArgumentException e)
            {
                problem = e.Message;
            }
            if (problem != null) yield return ("shard", problem);
        }
        if (Shards is < 1) yield return ("shards", "must be at least 1");
        if (Merge && Shard != null) yield return ("merge", "joins every shard's results: give it without --shard");
    }
}
