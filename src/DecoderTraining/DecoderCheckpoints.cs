using System.Globalization;
using Microsoft.Extensions.Logging;
using RaePipeline.Training;

namespace RaePipeline.DecoderTraining;

/// <summary>
/// Resumable checkpoints of a <c>train-decoder</c> run, as two <see cref="TrainingCheckpoint"/> series under one
/// folder: <c>decoder/step-N</c> (decoder weights = <c>model.safetensors</c> with the official decoder keys, its EMA,
/// AdamW moments) and, with a GAN, <c>discriminator/step-N</c> (the heads with their spectral-norm vectors, their
/// AdamW moments, the number of discriminator updates). The discriminator is written first, so a decoder checkpoint
/// always has its discriminator partner.
/// </summary>
public sealed class DecoderCheckpoints(string directory, int keep)
{
    const string DiscriminatorUpdatesFact = "discriminator_updates";

    public string Directory { get; } = directory;
    public string DecoderDirectory => Path.Combine(Directory, "decoder");
    public string DiscriminatorDirectory => Path.Combine(Directory, "discriminator");

    /// <summary>
    /// Writes the checkpoint of <paramref name="step"/> steps done; returns the decoder checkpoint folder. Pruning keeps
    /// the newest <c>keep</c> decoder checkpoints and exactly their discriminator partners.
    /// </summary>
    public string Save(DecoderTrainer trainer, long step, IReadOnlyDictionary<string, string> facts)
    {
        var discriminator = trainer.DiscriminatorState();
        if (discriminator != null)
        {
            discriminator.Step = step;
            discriminator.Facts[DiscriminatorUpdatesFact] = trainer.DiscriminatorUpdates.ToString(CultureInfo.InvariantCulture);
            TrainingCheckpoint.Save(DiscriminatorDirectory, discriminator);
        }
        var decoder = trainer.DecoderState();
        decoder.Step = step;
        foreach (var (key, value) in facts) decoder.Facts[key] = value;
        var folder = TrainingCheckpoint.Save(DecoderDirectory, decoder, keep);
        var partners = TrainingCheckpoint.List(DecoderDirectory).Select(c => c.Step).ToHashSet();
        foreach (var (partnerStep, partner) in TrainingCheckpoint.List(DiscriminatorDirectory))
            if (!partners.Contains(partnerStep)) System.IO.Directory.Delete(partner, recursive: true);
        return folder;
    }

    /// <summary>Removes what a killed checkpoint write left in either series; returns the folders removed.</summary>
    public IReadOnlyList<string> RemoveUnfinished() =>
        [.. TrainingCheckpoint.RemoveUnfinished(DecoderDirectory), .. TrainingCheckpoint.RemoveUnfinished(DiscriminatorDirectory)];

    /// <summary>
    /// Restores the trainer from the newest decoder checkpoint (with its partner) that loads, stepping back over damaged
    /// ones with a warning naming both; returns the folder, steps done and facts, or null when there is no checkpoint.
    /// </summary>
    public (string Folder, long Step, IReadOnlyDictionary<string, string> Facts)? LoadLatestIntact(DecoderTrainer trainer, ILogger log)
    {
        (long, IReadOnlyDictionary<string, string>) loaded = default;
        var folder = TrainingCheckpoint.LoadLatestIntact(DecoderDirectory, f => loaded = Load(trainer, f), log);
        return folder == null ? null : (folder, loaded.Item1, loaded.Item2);
    }

    /// <summary>
    /// Restores the trainer from the decoder checkpoint <paramref name="decoderFolder"/> (and its discriminator
    /// partner, <c>../../discriminator/step-N</c>); returns the steps done and the facts saved with it.
    /// </summary>
    public static (long Step, IReadOnlyDictionary<string, string> Facts) Load(DecoderTrainer trainer, string decoderFolder)
    {
        var decoder = trainer.DecoderState();
        var discriminator = trainer.DiscriminatorState();
        string? discriminatorFolder = null;
        if (discriminator != null)
        {
            var series = Path.GetDirectoryName(Path.GetFullPath(decoderFolder).TrimEnd(Path.DirectorySeparatorChar))!;
            discriminatorFolder = Path.Combine(Path.GetDirectoryName(series)!, "discriminator", Path.GetFileName(decoderFolder.TrimEnd(Path.DirectorySeparatorChar)));
            if (!System.IO.Directory.Exists(discriminatorFolder))
                throw new TrainingCheckpointException(
                    $"{decoderFolder}: the run trains a discriminator but its checkpoint {discriminatorFolder} is missing " +
                    "(a checkpoint of a run without GAN cannot continue with one)", discriminatorFolder);
        }
        TrainingCheckpoint.Load(decoderFolder, decoder);
        if (discriminator != null)
        {
            TrainingCheckpoint.Load(discriminatorFolder!, discriminator);
            if (!discriminator.Facts.TryGetValue(DiscriminatorUpdatesFact, out var updates) ||
                !long.TryParse(updates, NumberStyles.None, CultureInfo.InvariantCulture, out var count))
                throw new TrainingCheckpointException($"{discriminatorFolder}: state.json has no '{DiscriminatorUpdatesFact}' fact", discriminatorFolder);
            trainer.DiscriminatorUpdates = count;
        }
        return (decoder.Step, decoder.Facts);
    }
}
