using RaePipeline.Backbones.DiffusionTransformers;

namespace RaePipeline.Benchmarks;

/// <summary>
/// Matmul FLOPs of a forward and of a training step, with the convention of shared/bench/ref_bench.py: 2 FLOPs per
/// multiply-accumulate of every Linear/attention matmul; norms, softmax, RoPE, elementwise ops, lookups and the
/// optimizer are not counted; a training step is 3 forwards minus the input gradients nothing needs (patch
/// embeddings and the first time-MLP layer).
/// </summary>
static class MatmulFlops
{
    public static (double Forward, double TrainingStep) Of(DiffusionTransformerSpec spec, long batch)
    {
        double b = batch, tokens = (double)spec.Grid * spec.Grid;
        double tokenValues = (double)spec.InChannels * spec.PatchSize * spec.PatchSize;
        double Block(TransformerSize size, double conditionRows)
        {
            double d = size.HiddenSize, h = SwiGLUFFN.HiddenWidth(size.HiddenSize, spec.MlpRatio);
            return 2 * b * tokens * d * 3 * d + 4 * b * tokens * tokens * d + 2 * b * tokens * d * d
                   + 2 * b * tokens * d * 2 * h + 2 * b * tokens * h * d + 2 * b * conditionRows * d * 6 * d;
        }
        double db = spec.Backbone.HiddenSize;
        double timeFirst = 2 * b * 512 * db;
        double forward, patch;
        if (spec.Kind == DiffusionTransformerKind.DiTDH)
        {
            double dh = spec.Head!.HiddenSize;
            patch = 2 * b * tokens * tokenValues * (db + dh);
            forward = patch + timeFirst + 2 * b * db * db
                      + spec.Backbone.Depth * Block(spec.Backbone, 1) + spec.Head.Depth * Block(spec.Head, tokens)
                      + (db != dh ? 2 * b * tokens * db * dh : 0)
                      + 2 * b * tokens * dh * 2 * dh + 2 * b * tokens * dh * tokenValues;
        }
        else
        {
            patch = 2 * b * tokens * tokenValues * db;
            forward = patch + timeFirst + 2 * b * db * db + spec.Backbone.Depth * Block(spec.Backbone, 1)
                      + 2 * b * db * 2 * db + 2 * b * tokens * db * tokenValues;
        }
        return (forward, 3 * forward - patch - timeFirst);
    }
}
