using TorchSharp;

namespace RaePipeline.Distributed.Tests;

/// <summary>
/// What each rank of a multi-process test runs: <c>&lt;scenario&gt; &lt;folder&gt;</c>, writing its results under
/// <c>folder/rank&lt;r&gt;/</c>. A failure inside a scenario is handled as the host handles a failed job: the rank
/// reports it and ends every rank (<see cref="ProcessGroup.FailAll"/>).
/// </summary>
public static class RankProgram
{
    public const string Everything = "everything";
    public const string RankOneThrows = "rank-1-throws";
    public const string RankOneHangs = "rank-1-hangs";
    public const string RanksDisagree = "ranks-disagree";

    public static int Run(string[] args)
    {
        if (args.Length != 2)
        {
            Console.Error.WriteLine($"usage: RaePipeline.Distributed.Tests <{Everything} | {RankOneThrows} | {RankOneHangs} | {RanksDisagree}> <output folder>");
            return 2;
        }
        torch.set_num_threads(1);
        var group = ProcessGroup.World;
        var folder = Path.Combine(args[1], $"rank{group.Rank}");
        Directory.CreateDirectory(folder);
        try
        {
            switch (args[0])
            {
                case Everything:
                    RankScenarios.Everything(group, folder);
                    break;
                case RankOneThrows:
                    RankScenarios.RankOneThrows(group);
                    break;
                case RankOneHangs:
                    RankScenarios.RankOneHangs(group);
                    break;
                case RanksDisagree:
                    RankScenarios.RanksDisagree(group);
                    break;
                default:
                    Console.Error.WriteLine($"unknown scenario '{args[0]}'");
                    return 2;
            }
        }
        catch (Exception e) when (group.IsDistributed)
        {
            group.FailAll(e.Message);
            throw;
        }
        Console.WriteLine($"rank {group.Rank} of {group.WorldSize} done: {group.Traffic}");
        return 0;
    }
}
