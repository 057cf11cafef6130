using RaePipeline.Data;
using RaePipeline.Latents;
using RaePipeline.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Distributed.Tests;

/// <summary>
/// What the ranks of the multi-process tests compute. Each scenario writes its results under the rank's folder, and
/// the same code run in one process (<see cref="ProcessGroup.Single"/>) is the reference the tests compare against.
/// </summary>
public static class RankScenarios
{
    /// <summary>Global batches of the data-parallel runs: even, uneven (3 + 4 rows on two ranks), smaller than two ranks (rank 0 idle).</summary>
    public static readonly int[] GlobalBatches = [8, 7, 1];

    public const int TrainingSteps = 4;
    public const int StatisticsItems = 23, StatisticsBatch = 4;
    public const int SampleItems = 11, SampleBatch = 3;
    const long Seed = 7;

    public static void Everything(ProcessGroup group, string folder)
    {
        Collectives(group, Path.Combine(folder, "collectives.safetensors"), Path.Combine(folder, "hosts.txt"));
        foreach (var batch in GlobalBatches) DataParallelTraining(group, batch, Path.Combine(folder, $"training-{batch}.safetensors"));
        LatentStatistics(group, Path.Combine(folder, "statistics.safetensors"));
        Samples(group, Path.Combine(folder, "samples.npz"));
    }

    /// <summary>5 x 3 values 2 * i + rank + 1 (exact in every dtype tested, bfloat16 included).</summary>
    public static Tensor Filled(int rank, ScalarType type) => (torch.arange(15, dtype: float64).reshape(5, 3) * 2 + (rank + 1)).to(type);

    /// <summary>Rank r's rows for the gathers: (r + 2) x 3 values 100 r + i.</summary>
    public static Tensor GatherRows(int rank) => torch.arange((rank + 2) * 3, dtype: float32).reshape(rank + 2, 3) + 100 * rank;

    static void Collectives(ProcessGroup group, string path, string hostsPath)
    {
        using var scope = NewDisposeScope();
        int rank = group.Rank;
        var results = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var type in new[] { ScalarType.Float32, ScalarType.Float64, ScalarType.Int64, ScalarType.Int32, ScalarType.Byte, ScalarType.BFloat16 })
            foreach (var op in new[] { ReduceOp.Sum, ReduceOp.Max, ReduceOp.Min })
            {
                var tensor = Filled(rank, type);
                group.AllReduce(tensor, op);
                results[$"all_reduce_{op}_{type}"] = tensor;
            }
        var mean = Filled(rank, ScalarType.Float32);
        group.AllReduce(mean, ReduceOp.Mean);
        results["all_reduce_Mean_Float32"] = mean;
        var wide = Filled(rank, ScalarType.Float32);
        group.AllReduce(wide.t()); // a non-contiguous view: reduced through a contiguous copy, written back into wide
        results["all_reduce_transposed"] = wide;
        var large = torch.full(3_000_000, rank + 1, float32);
        group.AllReduce(large);
        results["all_reduce_large_sum"] = large.sum().reshape(1);
        var broadcast = Filled(rank, ScalarType.Float32);
        group.Broadcast(broadcast, group.WorldSize - 1);
        results["broadcast_from_last"] = broadcast;
        var rows = GatherRows(rank);
        if (group.Gather(rows, 0) is { } gathered) results["gather"] = gathered;
        results["all_gather"] = group.AllGather(rows);
        results["all_gather_uint8"] = group.AllGather(rows.to(ScalarType.Byte));
        var each = group.AllGatherEach(torch.full([rank + 1, rank + 2], rank + 1, rank % 2 == 0 ? float64 : int64));
        for (int r = 0; r < each.Length; r++) results[$"all_gather_each_{r}"] = each[r];
        group.Barrier();
        SafeTensorsFile.Write(path, results);
        File.WriteAllLines(hostsPath, group.DescribeRanks(torch.CPU));
    }

    /// <summary>
    /// <see cref="TrainingSteps"/> AdamW steps of a <see cref="TinyRegressor"/> on global batches of
    /// <paramref name="globalBatch"/> shuffled, randomly flipped samples with per-sample input noise and target
    /// dropout: each rank initializes differently (the broadcast must make them equal), loads only its rows of each
    /// global batch, and averages gradients in buckets of 256 bytes before clipping and the optimizer.
    /// </summary>
    static void DataParallelTraining(ProcessGroup group, int globalBatch, string path)
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(100 + group.Rank);
        using var model = new TinyRegressor();
        int differentBefore = ModuleReplicas.Differences(group, model.state_dict()).Count;
        ModuleReplicas.Broadcast(group, model, bucketBytes: 256);
        int differentAfterBroadcast = ModuleReplicas.Differences(group, model.state_dict()).Count;

        var inputs = new SampleRandomness(Seed, "dataset-inputs");
        var targets = new SampleRandomness(Seed, "dataset-targets");
        var noise = new SampleRandomness(Seed, "input-noise");
        var dropout = new SampleRandomness(Seed, "target-dropout");
        // Dataset item i: input (6,) (flipped when the epoch's flip says so), label i (its target is drawn from i).
        var batches = new ShuffledBatches(24, (index, flip) =>
        {
            var x = inputs.Normal(index, 1, TinyRegressor.Inputs)[0];
            return new LabeledSample(flip ? x.flip(0) : x, index);
        }, globalBatch, Seed, randomFlip: true);
        var slice = BatchSlice.Of(globalBatch, group);
        var parameters = model.parameters().ToList();
        using var optimizer = torch.optim.AdamW(parameters, 0.01);
        using var buckets = new GradientBuckets(group, parameters, bucketBytes: 256);
        var losses = new double[TrainingSteps];
        Tensor? firstGradients = null;
        model.train();
        for (int step = 0; step < TrainingSteps; step++)
        {
            using var stepScope = NewDisposeScope();
            optimizer.zero_grad();
            double localLoss = 0;
            if (!slice.IsEmpty)
            {
                using var batch = batches.Batch(step, slice.Start, slice.End);
                long first = slice.FirstSample(step);
                var x = batch.Samples + 0.1f * noise.Normal(first, slice.Count, TinyRegressor.Inputs);
                var keep = dropout.Uniform(first, slice.Count).ge(0.25).to(float32).unsqueeze(1);
                var y = torch.cat(batch.Labels.data<long>().ToArray().Select(label => targets.Normal(label, 1, TinyRegressor.Outputs)).ToList(), 0) * keep;
                var loss = (model.call(x) - y).pow(2).mean([1]).mean(); // the mean over this rank's samples
                loss.backward();
                localLoss = loss.item<float>();
            }
            buckets.Average(slice);
            if (step == 0) firstGradients = torch.cat(parameters.Select(p => p.grad!.reshape(-1)).ToList()).MoveToOuterDisposeScope();
            torch.nn.utils.clip_grad_norm_(parameters, 1.0);
            optimizer.step();
            var global = torch.tensor(new[] { localLoss * slice.Weight });
            group.AllReduce(global);
            losses[step] = global.item<double>();
        }
        var results = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach(), StringComparer.Ordinal);
        results["losses"] = torch.tensor(losses);
        results["first_gradients"] = firstGradients!;
        results["replicas_differing"] = torch.tensor(new long[]
            { differentBefore, differentAfterBroadcast, ModuleReplicas.Differences(group, model.state_dict()).Count });
        SafeTensorsFile.Write(path, results);
    }

    /// <summary>Latent statistics of <see cref="StatisticsItems"/> latents, each rank taking its shard of the batches, merged across ranks.</summary>
    static void LatentStatistics(ProcessGroup group, string path)
    {
        using var scope = NewDisposeScope();
        var plan = ShardPlan.For(ShardSelection.Whole.ForRank(group), StatisticsItems, StatisticsBatch);
        var latents = new SampleRandomness(Seed, "latents");
        using var local = new LatentStatisticsAccumulator();
        foreach (var (start, end) in plan.BatchRanges())
            local.Add(latents.Normal(start, end - start, 4, 2, 2) * 3 + 5);
        using var all = local.AcrossRanks(group);
        SafeTensorsFile.Write(path, new Dictionary<string, Tensor>
        {
            ["count"] = torch.tensor(new[] { all.Count }),
            ["mean"] = all.Mean,
            ["variance"] = all.Variance,
            ["local_count"] = torch.tensor(new[] { local.Count }),
        });
    }

    /// <summary>
    /// <see cref="SampleItems"/> "images" made batch by batch (each from its own seed, as the sample job does), each
    /// rank making its shard, gathered in order on rank 0, which writes the npz.
    /// </summary>
    static void Samples(ProcessGroup group, string path)
    {
        using var scope = NewDisposeScope();
        var plan = ShardPlan.For(ShardSelection.Whole.ForRank(group), SampleItems, SampleBatch);
        var pixels = new SampleRandomness(Seed, "pixels");
        var images = plan.BatchRanges()
            .Select(range => (pixels.Uniform(range.Start, range.End - range.Start, 4, 4, 3) * 256).floor().to(ScalarType.Byte))
            .Prepend(torch.empty([0, 4, 4, 3], ScalarType.Byte)).ToList();
        var local = torch.cat(images, 0);
        var index = torch.arange(plan.FirstItem, plan.EndItem, dtype: int64);
        var labels = index.remainder(3);
        var allImages = group.Gather(local, 0);
        var allLabels = group.Gather(labels, 0);
        var allIndex = group.Gather(index, 0);
        if (group.IsMain) NpzFile.Write(path, [new("arr_0", allImages!), new("arr_1", allLabels!), new("index", allIndex!)]);
    }

    /// <summary>Rank 1 fails after a first collective while rank 0 waits in the next one: the failure must end both.</summary>
    public static void RankOneThrows(ProcessGroup group)
    {
        using var tensor = torch.ones(4);
        group.AllReduce(tensor);
        if (group.Rank == 1) throw new InvalidOperationException("a failure on purpose in rank 1");
        group.AllReduce(tensor);
    }

    /// <summary>Rank 1 stops taking part (sleeps for minutes) while rank 0 waits in a collective: rank 0 must give up after the timeout.</summary>
    public static void RankOneHangs(ProcessGroup group)
    {
        using var tensor = torch.ones(4);
        group.AllReduce(tensor);
        if (group.Rank == 1) Thread.Sleep(TimeSpan.FromMinutes(5));
        group.AllReduce(tensor);
    }

    /// <summary>Rank 0 all-reduces while rank 1 broadcasts: both must fail with a message instead of mixing their data or hanging.</summary>
    public static void RanksDisagree(ProcessGroup group)
    {
        using var tensor = torch.ones(4);
        if (group.Rank == 0) group.AllReduce(tensor);
        else group.Broadcast(tensor);
    }
}
