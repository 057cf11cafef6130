using RaePipeline.Pipeline;

namespace RaePipeline.Training.Tests;

public class RunFolderLockTests
{
    [Fact]
    public void A_second_lock_on_a_run_folder_fails_naming_the_folder_and_the_holder_until_the_first_is_released()
    {
        using var folder = new TemporaryFolder();
        var run = folder.Combine("run");
        using (RunFolderLock.Acquire(run))
        {
            var second = () => RunFolderLock.Acquire(run);
            second.Should().Throw<RunFolderLockedException>()
                .Where(e => e.Message.Contains(Path.GetFullPath(run)) && e.Message.Contains($"pid {Environment.ProcessId}")
                            && e.Message.Contains(Environment.MachineName));
        }
        File.Exists(Path.Combine(run, RunFolderLock.HolderFile)).Should().BeFalse("the holder note goes with the lock");
        using (RunFolderLock.Acquire(run)) { } // released: the next run gets it
    }
}
