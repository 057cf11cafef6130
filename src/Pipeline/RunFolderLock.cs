using System.Globalization;

namespace RaePipeline.Pipeline;

/// <summary>
/// An exclusive lock on a run folder, so two runs never write the same checkpoints, curves and logs at once: an OS
/// lock on <c>run.lock</c> in the folder (released by the OS when the process ends, crash and kill -9 included),
/// and the holder (pid, host, start time) in <c>run.lock.holder</c> for the message a second run gets.
/// </summary>
public sealed class RunFolderLock : IDisposable
{
    public const string LockFile = "run.lock";
    public const string HolderFile = "run.lock.holder";

    readonly FileStream stream;
    readonly string holderPath;

    RunFolderLock(string folder, FileStream stream)
    {
        Folder = folder;
        this.stream = stream;
        holderPath = Path.Combine(folder, HolderFile);
    }

    public string Folder { get; }

    /// <summary>Takes the lock of <paramref name="folder"/> (created if needed), or throws <see cref="RunFolderLockedException"/>
    /// naming the folder and the process that holds it.</summary>
    public static RunFolderLock Acquire(string folder)
    {
        folder = Path.GetFullPath(folder);
        Directory.CreateDirectory(folder);
        FileStream stream;
        try
        {
            // FileShare.None is an exclusive flock on Unix and a sharing lock on Windows: a second open fails in any process.
            stream = new FileStream(Path.Combine(folder, LockFile), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e) when (e is not FileNotFoundException and not DirectoryNotFoundException and not PathTooLongException)
        {
            throw new RunFolderLockedException(folder, Holder(folder), e);
        }
        var held = new RunFolderLock(folder, stream);
        File.WriteAllText(held.holderPath, string.Create(CultureInfo.InvariantCulture,
            $"pid {Environment.ProcessId} on host {Environment.MachineName}, since {DateTime.UtcNow:yyyy-MM-dd HH:mm:ss}Z\n"));
        return held;
    }

    static string Holder(string folder)
    {
        try
        {
            return File.ReadAllText(Path.Combine(folder, HolderFile)).Trim();
        }
        catch (IOException)
        {
            return "a process that has not said who it is yet";
        }
    }

    public void Dispose()
    {
        if (File.Exists(holderPath)) File.Delete(holderPath);
        stream.Dispose(); // the lock file stays: deleting it would let a third run lock a new file while a second waits on the old one
    }
}

/// <summary>Another run holds the run folder's lock.</summary>
public sealed class RunFolderLockedException(string folder, string holder, Exception inner)
    : IOException($"the run folder {folder} is in use by another run ({holder}): wait for it to end, or choose another run folder (--run-dir)", inner)
{
    public string Folder { get; } = folder;
}
