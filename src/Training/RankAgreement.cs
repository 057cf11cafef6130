using System.Globalization;
using RaePipeline.Distributed;
using static TorchSharp.torch;

namespace RaePipeline.Training;

/// <summary>
/// Checks that the ranks of a data-parallel run resumed alike: each loads the checkpoint itself from the run folder,
/// so a folder that is not shared (a node-local disk) or changed between the ranks' reads would otherwise let them
/// train from different states without a word.
/// </summary>
public static class RankAgreement
{
    /// <summary>Throws on every rank, naming each rank's step, unless all ranks resumed at the same step. Collective.</summary>
    public static void RequireSameStep(ProcessGroup group, long step, string checkpoints)
    {
        if (!group.IsDistributed) return;
        using var scope = NewDisposeScope();
        var highest = tensor(new[] { step });
        var lowest = tensor(new[] { step });
        group.AllReduce(highest, ReduceOp.Max);
        group.AllReduce(lowest, ReduceOp.Min);
        if (highest.item<long>() == lowest.item<long>()) return;
        var steps = group.AllGatherStrings(step.ToString(CultureInfo.InvariantCulture));
        throw new TrainingCheckpointException(
            $"the ranks resumed from different steps ({string.Join(", ", steps.Select((s, r) => $"rank {r}: step {s}"))}) " +
            $"under {checkpoints}: every rank must see the same run folder (a shared file system)", checkpoints);
    }
}
