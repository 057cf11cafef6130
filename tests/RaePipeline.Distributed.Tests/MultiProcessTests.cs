using RaePipeline.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Distributed.Tests;

/// <summary>
/// Two ranks under mpirun against one process: collectives, data-parallel training building blocks, statistics and
/// gathered samples; and failures (a rank that throws, a rank that stops answering) end the run with a message
/// naming the rank instead of hanging. Skipped without Open MPI.
/// </summary>
public sealed class MultiProcessTests(TwoRankRun run) : IClassFixture<TwoRankRun>
{
    const int Ranks = 2;

    [MpiFact]
    public void Both_ranks_finish_and_the_run_names_each_ranks_host_and_device()
    {
        run.Launch!.ExitCode.Should().Be(0, run.Launch.Output);
        run.Launch.Output.Should().Contain("rank 0 of 2 done").And.Contain("rank 1 of 2 done");
        var hosts = File.ReadAllLines(run.OfRank(0, "hosts.txt"));
        hosts.Should().HaveCount(Ranks);
        hosts[0].Should().StartWith("rank 0 of 2: host ").And.Contain("local rank 0 of 2").And.Contain("device cpu");
        hosts[1].Should().StartWith("rank 1 of 2: host ").And.Contain("local rank 1 of 2");
        File.ReadAllLines(run.OfRank(1, "hosts.txt")).Should().Equal(hosts);
    }

    [MpiFact]
    public void All_reduce_sums_averages_and_takes_extremes_in_every_dtype_including_views()
    {
        using var scope = NewDisposeScope();
        foreach (var rank in Enumerable.Range(0, Ranks))
        {
            var results = run.Read(run.OfRank(rank, "collectives.safetensors"));
            var values = torch.arange(15, dtype: float64).reshape(5, 3) * 2;
            foreach (var type in new[] { ScalarType.Float32, ScalarType.Float64, ScalarType.Int64, ScalarType.Int32, ScalarType.Byte, ScalarType.BFloat16 })
            {
                Exactly(results[$"all_reduce_Sum_{type}"], values * 2 + 3, $"rank {rank} sum {type}");
                Exactly(results[$"all_reduce_Max_{type}"], values + 2, $"rank {rank} max {type}");
                Exactly(results[$"all_reduce_Min_{type}"], values + 1, $"rank {rank} min {type}");
                results[$"all_reduce_Sum_{type}"].dtype.Should().Be(type);
            }
            Exactly(results["all_reduce_Mean_Float32"], values + 1.5, $"rank {rank} mean");
            Exactly(results["all_reduce_transposed"], values * 2 + 3, $"rank {rank} non-contiguous view");
            results["all_reduce_large_sum"].item<float>().Should().Be(3_000_000f * 3);
            Exactly(results["broadcast_from_last"], values + 2, $"rank {rank} broadcast from rank 1");
        }
    }

    [MpiFact]
    public void Gathers_concatenate_uneven_ranks_in_rank_order_and_all_gathers_reach_every_rank()
    {
        using var scope = NewDisposeScope();
        var expected = torch.cat([RankScenarios.GatherRows(0), RankScenarios.GatherRows(1)], 0); // 2 + 3 rows
        var first = run.Read(run.OfRank(0, "collectives.safetensors"));
        Exactly(first["gather"], expected, "gather on rank 0");
        foreach (var rank in Enumerable.Range(0, Ranks))
        {
            var results = run.Read(run.OfRank(rank, "collectives.safetensors"));
            if (rank != 0) results.Should().NotContainKey("gather", "only the root receives a gather");
            Exactly(results["all_gather"], expected, $"all-gather on rank {rank}");
            results["all_gather_uint8"].dtype.Should().Be(ScalarType.Byte);
            Exactly(results["all_gather_uint8"], expected.to(ScalarType.Byte), $"uint8 all-gather on rank {rank}");
            results["all_gather_each_0"].dtype.Should().Be(ScalarType.Float64);
            Exactly(results["all_gather_each_0"], torch.full([1, 2], 1, float64), "rank 0's tensor");
            results["all_gather_each_1"].dtype.Should().Be(ScalarType.Int64);
            Exactly(results["all_gather_each_1"], torch.full([2, 3], 2, int64), "rank 1's tensor");
        }
    }

    [MpiFact]
    public void Data_parallel_steps_on_two_ranks_equal_one_process_for_even_uneven_and_tiny_global_batches()
    {
        using var scope = NewDisposeScope();
        foreach (var batch in RankScenarios.GlobalBatches)
        {
            var file = $"training-{batch}.safetensors";
            var single = run.Read(run.OfSingle(file));
            var rank0 = run.Read(run.OfRank(0, file));
            var rank1 = run.Read(run.OfRank(1, file));
            // Different seeds per rank: every tensor differed before the broadcast, none after it or after training.
            rank0["replicas_differing"].data<long>().ToArray().Should().Equal([rank0.Count - 3, 0, 0], $"global batch {batch}");
            single["replicas_differing"].data<long>().ToArray().Should().Equal([0, 0, 0]);
            foreach (var (name, value) in rank0)
            {
                if (name == "replicas_differing") continue;
                Exactly(rank1[name], value, $"global batch {batch}: {name} on rank 1 vs rank 0");
                double error = TensorAssert.Close(value, single[name], maxAbs: 1e-5, maxRelativeToMax: 1e-5, what: $"global batch {batch}: {name}");
                if (name == "first_gradients") error.Should().BeLessThan(1e-6, "the averaged gradients equal the whole batch's to float32 summation order");
            }
            // The steps moved the weights: the comparison above is not of untouched initial weights.
            single["losses"][0].item<double>().Should().NotBe(single["losses"][RankScenarios.TrainingSteps - 1].item<double>());
        }
    }

    [MpiFact]
    public void Latent_statistics_merged_across_ranks_equal_one_process_to_1e_10()
    {
        using var scope = NewDisposeScope();
        var single = run.Read(run.OfSingle("statistics.safetensors"));
        var counts = Enumerable.Range(0, Ranks).Select(r => run.Read(run.OfRank(r, "statistics.safetensors"))["local_count"].item<long>()).ToList();
        counts.Should().AllSatisfy(c => c.Should().BePositive()).And.Subject.Sum().Should().Be(RankScenarios.StatisticsItems);
        foreach (var rank in Enumerable.Range(0, Ranks))
        {
            var merged = run.Read(run.OfRank(rank, "statistics.safetensors"));
            merged["count"].item<long>().Should().Be(RankScenarios.StatisticsItems);
            merged["mean"].dtype.Should().Be(ScalarType.Float64);
            (merged["mean"] - single["mean"]).abs().max().item<double>().Should().BeLessThan(1e-10);
            (merged["variance"] - single["variance"]).abs().max().item<double>().Should().BeLessThan(1e-10);
        }
        single["variance"].mean().item<double>().Should().BeInRange(6, 12, "the latents were drawn with variance 9");
    }

    [MpiFact]
    public void Samples_gathered_on_rank_0_give_an_npz_byte_identical_to_one_process()
    {
        run.Launch!.ExitCode.Should().Be(0, run.Launch.Output);
        var expected = File.ReadAllBytes(run.OfSingle("samples.npz"));
        File.ReadAllBytes(run.OfRank(0, "samples.npz")).Should().Equal(expected);
        File.Exists(run.OfRank(1, "samples.npz")).Should().BeFalse("only rank 0 writes");
        var arrays = NpzFile.Read(run.OfSingle("samples.npz"));
        arrays["arr_0"].shape.Should().Equal([RankScenarios.SampleItems, 4, 4, 3]);
        arrays["index"].data<long>().ToArray().Should().Equal(Enumerable.Range(0, RankScenarios.SampleItems).Select(i => (long)i));
        arrays["arr_0"].to(float32).std().item<float>().Should().BeGreaterThan(10, "the images are random, not blank");
        foreach (var tensor in arrays.Values) tensor.Dispose();
    }

    [MpiFact]
    public void A_rank_that_throws_stops_every_rank_with_a_message_naming_it()
    {
        // Rank 0 waits in an all-reduce with a 120 s timeout: only rank 1's abort can end the run within a minute.
        var output = RunFailing(RankProgram.RankOneThrows, timeoutSeconds: 120);
        output.Should().Contain("rank 1 of 2").And.Contain("a failure on purpose in rank 1").And.Contain("stopping every rank");
    }

    [MpiFact]
    public void A_rank_that_stops_answering_makes_the_others_give_up_after_the_timeout_naming_it()
    {
        // Rank 1 sleeps for 5 minutes: the 3 s timeout must end the run.
        var output = RunFailing(RankProgram.RankOneHangs, timeoutSeconds: 3);
        output.Should().Contain("rank 0 of 2").And.Contain("timed out on rank 0 after waiting 3 s")
            .And.Contain("rank 1 did not answer").And.Contain("stopping every rank");
    }

    [MpiFact]
    public void Ranks_that_call_different_collectives_fail_with_a_message_instead_of_mixing_data()
    {
        var output = RunFailing(RankProgram.RanksDisagree, timeoutSeconds: 120);
        output.Should().MatchRegex(@"rank [01] of 2 \(.+\) failed: the ranks called different collectives: rank [01] is in (all-reduce|broadcast) #\d+ \(16 B\), another rank in (broadcast|all-reduce)");
    }

    /// <summary>Runs a scenario that must fail on two ranks: it ends by itself within a minute with a non-zero exit code. Returns its output.</summary>
    string RunFailing(string scenario, int timeoutSeconds)
    {
        var result = MpiLaunch.Run(2, typeof(RankProgram).Assembly.Location, [scenario, Path.Combine(run.Folder, scenario)], TimeSpan.FromMinutes(2),
            new Dictionary<string, string> { [LaunchEnvironment.TimeoutVariable] = timeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        result.TimedOut.Should().BeFalse(result.Output);
        result.ExitCode.Should().NotBe(0, result.Output);
        result.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(60), result.Output);
        return result.Output;
    }

    /// <summary>Same shape and every element equal (compared in float64).</summary>
    static void Exactly(Tensor actual, Tensor expected, string what)
    {
        actual.shape.Should().Equal(expected.shape, what);
        using var difference = (actual.to(float64) - expected.to(float64)).abs().max();
        difference.item<double>().Should().Be(0, what);
    }
}
