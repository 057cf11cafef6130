using RaePipeline.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Evaluation;

/// <summary>The pipeline's <c>data:</c> images (synthetic, folder or npz, ADM-cropped), in dataset order, as a reference set.</summary>
public sealed class DatasetImageSource(IImageDataset dataset) : ImageSource
{
    public override string Description => $"the pipeline's data ({dataset.Identity})";

    public override long Count => dataset.Count;

    public override IEnumerable<Tensor> Batches(int batchSize, long limit)
    {
        long count = Take(Count, limit);
        for (long start = 0; start < count; start += batchSize)
        {
            using var scope = NewDisposeScope();
            var images = new List<Tensor>();
            for (long i = start; i < Math.Min(count, start + batchSize); i++) images.Add(dataset.Get((int)i).Image);
            yield return torch.stack(images).MoveToOuterDisposeScope();
        }
    }
}
