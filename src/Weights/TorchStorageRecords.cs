using System.Numerics;

namespace RaePipeline.Weights;

/// <summary>Where a <c>torch.save</c> file keeps the bytes of its storages.</summary>
abstract class TorchStorageRecords : IDisposable
{
    /// <summary>The storage's record, for messages.</summary>
    public abstract string Describe(TorchStorageReference storage);

    /// <summary>The bytes the file holds for the storage, or null when it holds no such storage.</summary>
    public abstract BigInteger? Length(TorchStorageReference storage);

    /// <summary>A stream positioned at the storage's first byte.</summary>
    public abstract Stream Open(TorchStorageReference storage);

    public abstract void Dispose();
}

/// <summary>The zip layout of PyTorch 1.6 and later: one <c>&lt;record&gt;/data/&lt;key&gt;</c> entry per storage.</summary>
sealed class ZipStorageRecords(ZipContainer zip, string recordPrefix) : TorchStorageRecords
{
    public override string Describe(TorchStorageReference storage) => $"record '{Name(storage)}'";

    public override BigInteger? Length(TorchStorageReference storage) =>
        zip.Contains(Name(storage)) ? zip.Length(Name(storage)) : null;

    public override Stream Open(TorchStorageReference storage) => zip.OpenEntry(Name(storage));

    public override void Dispose() => zip.Dispose();

    string Name(TorchStorageReference storage) => recordPrefix + "data/" + storage.Key;
}
