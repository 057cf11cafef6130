namespace RaePipeline.Distributed.Tests;

/// <summary>Which part of a sharded job a process computes: --shard, Slurm arrays, Kubernetes Indexed Jobs, and ranks within them.</summary>
public class ShardSelectionTests
{
    static ShardSelection Resolve(string? shard, int? shards, params (string Key, string Value)[] variables) =>
        ShardSelection.Resolve(shard, shards, variables.ToDictionary(v => v.Key, v => v.Value));

    [Fact]
    public void The_shard_option_wins_over_the_environment()
    {
        Resolve("1/4", null, ("SLURM_ARRAY_TASK_ID", "0"), ("SLURM_ARRAY_TASK_COUNT", "2"))
            .Should().BeEquivalentTo(new { Index = 1, Count = 4, Source = "--shard 1/4" });
        Resolve(null, null).Should().BeSameAs(ShardSelection.Whole);
        ((Action)(() => Resolve("4/4", null))).Should().Throw<ArgumentException>().WithMessage("*'4/4'*0 ≤ i < N*");
        ((Action)(() => Resolve("1/4", 8))).Should().Throw<ArgumentException>().WithMessage("*disagree*");
    }

    [Fact]
    public void A_Slurm_array_task_counts_from_the_arrays_first_id_in_its_steps()
    {
        // sbatch --array=1-9:2 starts tasks 1, 3, 5, 7, 9.
        var task = Resolve(null, null, ("SLURM_ARRAY_TASK_ID", "7"), ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_STEP", "2"), ("SLURM_ARRAY_TASK_COUNT", "5"), ("SLURM_ARRAY_TASK_MAX", "9"));
        task.Index.Should().Be(3);
        task.Count.Should().Be(5);
        task.Source.Should().Contain("SLURM_ARRAY_TASK_ID");
        ((Action)(() => Resolve(null, null, ("SLURM_ARRAY_TASK_ID", "7"), ("SLURM_ARRAY_TASK_MIN", "0"), ("SLURM_ARRAY_TASK_COUNT", "3"))))
            .Should().Throw<ArgumentException>().WithMessage("*SLURM_ARRAY_TASK_ID 7*list*--shard i/N*");
    }

    [Fact]
    public void A_Kubernetes_Indexed_Job_needs_the_number_of_shards_from_an_option_or_RAE_SHARDS()
    {
        Resolve(null, 6, ("JOB_COMPLETION_INDEX", "5")).Should().BeEquivalentTo(new { Index = 5, Count = 6 });
        Resolve(null, null, ("JOB_COMPLETION_INDEX", "2"), ("RAE_SHARDS", "3")).Should().BeEquivalentTo(new { Index = 2, Count = 3 });
        ((Action)(() => Resolve(null, null, ("JOB_COMPLETION_INDEX", "2")))).Should().Throw<ArgumentException>().WithMessage("*--shards N*RAE_SHARDS*");
        ((Action)(() => Resolve(null, 2, ("JOB_COMPLETION_INDEX", "2")))).Should().Throw<ArgumentException>().WithMessage("*does not lie in 0..1*");
        ((Action)(() => Resolve(null, 4))).Should().Throw<ArgumentException>().WithMessage("*without a shard index*");
    }

    [Theory]
    [InlineData(10, 3, 2, 2)] // 4 batches over 2 array tasks x 2 ranks: one batch each
    [InlineData(50, 4, 3, 2)] // 13 batches over 6 parts: uneven
    [InlineData(5, 4, 2, 3)]  // 2 batches over 6 parts: most parts empty
    [InlineData(0, 4, 1, 2)]  // nothing to do
    public void Ranks_of_array_tasks_cover_every_item_exactly_once_in_order(int items, int batchSize, int tasks, int ranks)
    {
        var covered = new List<int>();
        for (int task = 0; task < tasks; task++)
        {
            var shard = new ShardSelection(task, tasks, "test");
            var whole = ShardPlan.For(shard, items, batchSize);
            var ofRanks = new List<int>();
            for (int rank = 0; rank < ranks; rank++)
            {
                var plan = ShardPlan.For(shard.ForRank(rank, ranks), items, batchSize);
                plan.ItemCount.Should().Be(plan.BatchRanges().Sum(r => r.End - r.Start));
                foreach (var (start, end) in plan.BatchRanges())
                {
                    (end - start).Should().BeInRange(1, batchSize);
                    ofRanks.AddRange(Enumerable.Range(start, end - start));
                }
            }
            ofRanks.Should().Equal(Enumerable.Range(whole.FirstItem, whole.ItemCount), "a task's ranks together compute the task's shard");
            covered.AddRange(ofRanks);
        }
        covered.Should().Equal(Enumerable.Range(0, items));
    }

    [Fact]
    public void Even_split_parts_differ_by_at_most_one_and_cover_the_range()
    {
        var parts = Enumerable.Range(0, 4).Select(i => EvenSplit.Part(10, i, 4)).ToList();
        parts.Should().Equal([(0L, 2L), (2L, 5L), (5L, 7L), (7L, 10L)]);
        EvenSplit.Part(long.MaxValue / 2, 3, 4).End.Should().Be(long.MaxValue / 2, "no overflow for huge ranges");
        ((Action)(() => EvenSplit.Part(10, 4, 4))).Should().Throw<ArgumentOutOfRangeException>();
    }
}
