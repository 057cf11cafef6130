using RaePipeline.Weights;
using static TorchSharp.torch;

namespace RaePipeline.Distributed.Tests;

/// <summary>
/// One <c>mpirun -np 2</c> run of every scenario (<see cref="RankProgram.Everything"/>) and the same scenarios in this
/// process as the single-process reference, shared by the tests that compare them (one MPI start for all).
/// </summary>
public sealed class TwoRankRun : IDisposable
{
    public TwoRankRun()
    {
        Folder = Directory.CreateTempSubdirectory("rae-distributed-tests-").FullName;
        if (MpiRun.Find() == null) return;
        Launch = MpiLaunch.Run(2, typeof(RankProgram).Assembly.Location, [RankProgram.Everything, Path.Combine(Folder, "ranks")],
            TimeSpan.FromMinutes(4));
        var single = Path.Combine(Folder, "single");
        Directory.CreateDirectory(single);
        TorchSharp.torch.set_num_threads(1);
        RankScenarios.Everything(ProcessGroup.Single, single);
    }

    public string Folder { get; }

    public LaunchResult? Launch { get; }

    /// <summary>A file rank <paramref name="rank"/> of the two-rank run wrote.</summary>
    public string OfRank(int rank, string file) => Path.Combine(Folder, "ranks", $"rank{rank}", file);

    /// <summary>A file the single-process reference wrote.</summary>
    public string OfSingle(string file) => Path.Combine(Folder, "single", file);

    public Dictionary<string, Tensor> Read(string path)
    {
        Launch!.ExitCode.Should().Be(0, $"the two-rank run failed:\n{Launch.Output}");
        return SafeTensorsFile.Read(path);
    }

    public void Dispose() => Directory.Delete(Folder, recursive: true);
}
