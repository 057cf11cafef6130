using System.Text.RegularExpressions;
using RaePipeline.Pipeline;

namespace RaePipeline.Training.Tests;

public class ProgressReporterTests
{
    [Fact]
    public void After_a_resume_rate_and_eta_count_only_the_steps_done_since()
    {
        var output = new StringWriter();
        var reporter = new ProgressReporter(output, interactive: false, lineInterval: TimeSpan.Zero);
        using var bar = reporter.Start("train", 100, "step");
        bar.SetDone(50); // a run resumed at step 50 of 100
        Thread.Sleep(100);
        var elapsed = bar.Elapsed;
        bar.Advance(1);

        // One step in at least 0.1 s: at most 10 steps/s, so 49 steps take at least 4.9 s. Counting the 50 earlier
        // steps against the new clock would claim 510 steps/s and an ETA of 0 s.
        bar.Rate.Should().BeLessThanOrEqualTo(1 / elapsed.TotalSeconds);
        var eta = Regex.Match(output.ToString(), @"ETA (\d+):(\d\d)");
        eta.Success.Should().BeTrue(output.ToString());
        (int.Parse(eta.Groups[1].Value) * 60 + int.Parse(eta.Groups[2].Value)).Should().BeGreaterThanOrEqualTo(4, output.ToString());
    }
}
