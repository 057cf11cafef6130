namespace RaePipeline.Distributed.Tests;

/// <summary>How a process learns, before any MPI call, whether it is one rank of an mpirun or srun launch.</summary>
public class LaunchEnvironmentTests
{
    static LaunchEnvironment From(params (string Key, string Value)[] variables) =>
        LaunchEnvironment.From(variables.ToDictionary(v => v.Key, v => v.Value));

    [Fact]
    public void Nothing_set_is_a_single_process_with_the_default_timeout()
    {
        var launch = From();
        launch.Launcher.Should().Be("none");
        launch.UsesMpi.Should().BeFalse();
        launch.Timeout.Should().Be(TimeSpan.FromMinutes(10));
    }

    [Fact]
    public void Open_MPI_mpirun_sets_world_size_rank_and_local_rank()
    {
        var launch = From(("OMPI_COMM_WORLD_SIZE", "4"), ("OMPI_COMM_WORLD_RANK", "3"), ("OMPI_COMM_WORLD_LOCAL_RANK", "1"));
        launch.Should().BeEquivalentTo(new { Launcher = "mpirun", WorldSize = 4, Rank = 3, LocalRank = 1, UsesMpi = true });
        From(("OMPI_COMM_WORLD_SIZE", "1"), ("OMPI_COMM_WORLD_RANK", "0")).UsesMpi.Should().BeFalse("one rank needs no MPI");
    }

    [Fact]
    public void Srun_tasks_are_ranks_but_a_batch_script_outside_srun_is_not()
    {
        var task = From(("SLURM_PROCID", "5"), ("SLURM_STEP_NUM_TASKS", "8"), ("SLURM_LOCALID", "1"), ("SLURM_NTASKS", "8"));
        task.Should().BeEquivalentTo(new { Launcher = "srun", WorldSize = 8, Rank = 5, LocalRank = 1, UsesMpi = true });
        // sbatch runs the script itself with the allocation's variables but no step: not a rank.
        From(("SLURM_PROCID", "0"), ("SLURM_NTASKS", "8"), ("SLURM_JOB_ID", "42")).UsesMpi.Should().BeFalse();
    }

    [Fact]
    public void A_PMIx_launcher_without_a_size_means_MPI_decides()
    {
        var launch = From(("PMIX_RANK", "2"));
        launch.Should().BeEquivalentTo(new { Launcher = "PMIx", Rank = 2, WorldSize = (int?)null, UsesMpi = true });
    }

    [Fact]
    public void The_backend_and_the_timeout_are_settings_and_bad_values_name_the_variable()
    {
        From(("RAE_DIST_BACKEND", "single"), ("OMPI_COMM_WORLD_SIZE", "4")).UsesMpi.Should().BeFalse();
        From(("RAE_DIST_BACKEND", "MPI")).UsesMpi.Should().BeTrue();
        From(("RAE_DIST_TIMEOUT", "2.5")).Timeout.Should().Be(TimeSpan.FromSeconds(2.5));
        From(("RAE_MPI_LIBRARY", " /opt/openmpi/lib/libmpi.so.40 ")).MpiLibrary.Should().Be("/opt/openmpi/lib/libmpi.so.40");
        ((Action)(() => From(("RAE_DIST_TIMEOUT", "0")))).Should().Throw<DistributedException>().WithMessage("*RAE_DIST_TIMEOUT='0'*positive*");
        ((Action)(() => From(("RAE_DIST_BACKEND", "nccl")))).Should().Throw<DistributedException>().WithMessage("*RAE_DIST_BACKEND='nccl'*auto, single or mpi*");
        ((Action)(() => From(("OMPI_COMM_WORLD_SIZE", "two")))).Should().Throw<DistributedException>().WithMessage("*OMPI_COMM_WORLD_SIZE='two'*");
    }
}
