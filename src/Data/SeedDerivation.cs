using System.Text;

namespace RaePipeline.Data;

/// <summary>
/// Independent seeds for the separate random streams of a run (shuffling, flips, noise, times, label dropout),
/// derived from the pipeline seed, a purpose name and an index (epoch, image, ...), so each stream repeats exactly
/// and no two share a generator.
/// </summary>
public static class SeedDerivation
{
    public static ulong Derive(long seed, string purpose, long index = 0)
    {
        ulong state = unchecked((ulong)seed);
        state = Mix(state ^ Fnv1a(purpose));
        state = Mix(state ^ unchecked((ulong)index));
        return state;
    }

    /// <summary>SplitMix64 finalizer: a bijective scramble of 64 bits.</summary>
    static ulong Mix(ulong z)
    {
        unchecked
        {
            z += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }

    static ulong Fnv1a(string text)
    {
        ulong hash = 14695981039346656037UL;
        foreach (var b in Encoding.UTF8.GetBytes(text))
            hash = unchecked((hash ^ b) * 1099511628211UL);
        return hash;
    }
}
