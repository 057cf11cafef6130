namespace RaePipeline.Distributed.Tests;

/// <summary>
/// The test binary is also the program every rank of the multi-process tests runs:
/// <c>mpirun -np 2 dotnet RaePipeline.Distributed.Tests.dll &lt;scenario&gt; &lt;output folder&gt;</c>.
/// </summary>
public static class Program
{
    public static int Main(string[] args) => RankProgram.Run(args);
}
