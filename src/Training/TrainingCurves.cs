using RaePipeline.Pipeline;

namespace RaePipeline.Training;

/// <summary>
/// The curves of a training job, kept so that a killed and resumed run has every step once: when the job starts, its
/// series (names starting with its prefix) are taken from the run folder's <c>curves.csv</c> up to the step training
/// continues from, the points after it being dropped (they are computed again); <see cref="Save"/> writes the run's
/// results before each checkpoint, so what is on disk always reaches the newest checkpoint.
/// </summary>
public static class TrainingCurves
{
    public static void Restore(JobContext context, string prefix, long step) =>
        context.Results.RestoreCurves(RunResults.Load(context.RunDirectory), prefix, step);

    public static void Save(JobContext context) => context.Results.Save(context.RunDirectory);
}
