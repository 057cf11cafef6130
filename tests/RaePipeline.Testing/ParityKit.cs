using System.Reflection;
using Xunit;
using Xunit.Sdk;

namespace RaePipeline.Testing;

/// <summary>
/// The parity kit: reference data from the official PyTorch implementation. Its folder comes from the
/// environment variable RAE_PARITY_DIR, by default ../shared/parity from the repository root.
/// </summary>
public static class ParityKit
{
    public const string EnvironmentVariable = "RAE_PARITY_DIR";

    public static string Folder { get; } = Path.GetFullPath(
        Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } fromEnvironment
            ? fromEnvironment
            : Path.Combine(RepositoryRoot.Path, "..", "shared", "parity"));

    public static bool Has(string caseName) => File.Exists(Path.Combine(Folder, caseName, "case.json"));

    public static string CaseFolder(string caseName) => Path.Combine(Folder, caseName);

    public static ParityCase Open(string caseName) => new(CaseFolder(caseName));

    public static string MissingMessage(string caseName) =>
        $"parity kit case '{caseName}' not found under {Folder} (set {EnvironmentVariable} to the kit's folder)";
}

/// <summary>A test that needs a case of the parity kit; skipped with a message when the kit is absent.</summary>
public sealed class ParityFactAttribute : FactAttribute
{
    public ParityFactAttribute(string caseName)
    {
        if (!ParityKit.Has(caseName)) Skip = ParityKit.MissingMessage(caseName);
    }
}

/// <summary>A data-driven test that needs a case of the parity kit.</summary>
public sealed class ParityTheoryAttribute : TheoryAttribute
{
    public ParityTheoryAttribute(string caseName)
    {
        if (!ParityKit.Has(caseName)) Skip = ParityKit.MissingMessage(caseName);
    }
}

/// <summary>
/// One data row of a theory that needs a case of the parity kit: skipped with a message when that case is absent, so
/// each row of a theory over several cases is gated on its own case.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = true)]
public sealed class ParityInlineDataAttribute : DataAttribute
{
    readonly object[] data;

    public ParityInlineDataAttribute(string caseName, params object[] data)
    {
        this.data = [caseName, .. data];
        if (!ParityKit.Has(caseName)) Skip = ParityKit.MissingMessage(caseName);
    }

    public override IEnumerable<object[]> GetData(MethodInfo testMethod) => [data];
}
