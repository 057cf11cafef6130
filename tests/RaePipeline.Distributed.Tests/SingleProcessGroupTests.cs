using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Distributed.Tests;

/// <summary>Without MPI a run is one process: rank 0 of 1, and every collective leaves its data as it is.</summary>
public class SingleProcessGroupTests
{
    readonly ProcessGroup group = ProcessGroup.Single;

    [Fact]
    public void A_single_process_is_rank_0_of_1_on_its_host_and_the_default_world()
    {
        group.Rank.Should().Be(0);
        group.WorldSize.Should().Be(1);
        group.LocalRank.Should().Be(0);
        group.LocalSize.Should().Be(1);
        group.IsMain.Should().BeTrue();
        group.IsDistributed.Should().BeFalse();
        group.Hosts.Should().Equal([Environment.MachineName]);
        group.Backend.Should().Be("single process");
        ProcessGroup.World.Should().BeSameAs(ProcessGroup.Single, "the test process was not launched by mpirun or srun");
        group.DescribeRanks(torch.CPU).Should().ContainSingle().Which.Should().StartWith($"rank 0 of 1: host {Environment.MachineName}, pid ");
    }

    [Fact]
    public void Collectives_leave_tensors_as_they_are_and_gathers_return_copies()
    {
        using var scope = NewDisposeScope();
        var tensor = torch.arange(6, dtype: float32).reshape(2, 3);
        var original = tensor.clone();
        group.AllReduce(tensor);
        group.AllReduce(tensor, ReduceOp.Mean);
        group.Broadcast(tensor);
        group.Barrier();
        tensor.SameValues(original).Should().BeTrue();
        var gathered = group.Gather(tensor)!;
        gathered.SameValues(original).Should().BeTrue();
        gathered.add_(1);
        tensor.SameValues(original).Should().BeTrue("a gather returns its own tensor");
        group.AllGather(tensor).SameValues(original).Should().BeTrue();
        group.AllGatherEach(tensor).Should().ContainSingle().Which.SameValues(original).Should().BeTrue();
        group.AllGatherStrings("héllo").Should().Equal(["héllo"]);
    }

    [Fact]
    public void A_mean_of_integers_is_refused_and_failing_all_ranks_of_one_process_does_nothing()
    {
        using var integers = torch.ones(3, int64);
        var act = () => group.AllReduce(integers, ReduceOp.Mean);
        act.Should().Throw<ArgumentException>().WithMessage("*floating-point*Int64*");
        group.FailAll("nothing to stop"); // returns: the caller's exception ends a single-process run
    }

    [Fact]
    public void The_device_stays_as_configured_in_one_process()
    {
        group.PlaceDevice(torch.CPU).type.Should().Be(DeviceType.CPU);
        group.PlaceDevice(new Device(DeviceType.CUDA, -1)).index.Should().Be(-1, "a single process keeps 'cuda' as given");
        group.UseDevice(torch.CPU).Should().Be("one process: no collectives");
        group.ShareCores().Should().BeNull("one rank per host shares nothing");
    }

    [Fact]
    public void Traffic_is_reported_per_kind_with_its_bandwidth()
    {
        var traffic = new CollectiveTraffic();
        traffic.ToString().Should().Be("no collectives");
        traffic.Add("all-reduce", 2_000_000, TimeSpan.FromSeconds(0.5));
        traffic.Add("all-reduce", 2_000_000, TimeSpan.FromSeconds(0.5));
        traffic.Of("all-reduce").Should().Be((2L, 4_000_000L, 1.0));
        traffic.Bandwidth("all-reduce").Should().Be(4_000_000);
        traffic.ToString().Should().Be("all-reduce: 2 calls, 4.0 MB in 1.00 s (4.0 MB/s)");
        CollectiveTraffic.FormatBytes(1_500_000_000).Should().Be("1.50 GB");
    }
}
