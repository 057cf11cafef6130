using RaePipeline.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Evaluation;

/// <summary>
/// The pipeline's <c>data:</c> images (synthetic, folder or npz, ADM-cropped) with their labels, as a reference set.
/// All of them in dataset order, or with a limit that many spread evenly over the set (so every class of a
/// class-major set keeps its share).
/// </summary>
public sealed class DatasetImageSource(IImageDataset dataset) : ImageSource
{
    public override string Description => $"the pipeline's data ({dataset.Identity})";

    public override long Count => dataset.Count;

    public override string Identity => Description;

    (long Limit, IImageDataset Images)? limited;

    public override (Tensor Images, Tensor? Labels) Read(long start, long end, long limit)
    {
        if (limit <= 0 || limit >= dataset.Count) return Batch(dataset, (int)start, (int)end);
        if (limited?.Limit != limit) limited = (limit, new DatasetSubset(dataset, (int)limit));
        return Batch(limited.Value.Images, (int)start, (int)end);
    }

    static (Tensor Images, Tensor? Labels) Batch(IImageDataset images, int start, int end)
    {
        using var scope = NewDisposeScope();
        var batch = new List<Tensor>();
        var labels = new List<long>();
        for (int i = start; i < end; i++)
        {
            var image = images.Get(i);
            batch.Add(image.Image);
            labels.Add(image.Label);
        }
        return (torch.stack(batch).MoveToOuterDisposeScope(), torch.tensor(labels.ToArray()).MoveToOuterDisposeScope());
    }
}
