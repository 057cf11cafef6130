using System.Globalization;

namespace RaePipeline.Benchmarks;

/// <summary>The process's resident set size as the kernel reports it (<c>/proc/self/status</c>), in MiB.</summary>
static class ProcessMemory
{
    /// <summary>VmRSS: resident now.</summary>
    public static double ResidentMiB() => Read("VmRSS:");

    /// <summary>VmHWM: the highest resident size so far.</summary>
    public static double PeakResidentMiB() => Read("VmHWM:");

    static double Read(string field)
    {
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith(field, StringComparison.Ordinal))
            ?? throw new PlatformNotSupportedException($"/proc/self/status has no {field} line (RSS is read on Linux only)");
        var kilobytes = line[field.Length..].Trim().Split(' ')[0];
        return long.Parse(kilobytes, CultureInfo.InvariantCulture) / 1024.0;
    }
}
