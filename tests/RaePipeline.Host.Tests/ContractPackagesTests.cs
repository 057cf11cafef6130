using System.IO.Compression;
using System.Xml.Linq;

namespace RaePipeline.Host.Tests;

/// <summary>The build packs the contracts and, beside them, the contract-test kit that plugin authors test against.</summary>
public class ContractPackagesTests
{
    /// <summary>The packages follow the contract version (major.minor.0).</summary>
    static readonly string Version = $"{Abstractions.ContractVersion.Major}.{Abstractions.ContractVersion.Minor}.0";

    [Theory]
    [InlineData("RaePipeline.Abstractions", new[] { "TorchSharp" })]
    [InlineData("RaePipeline.Abstractions.Testing", new[] { "RaePipeline.Abstractions", "xunit" })]
    public void The_package_holds_its_assembly_and_depends_on_what_it_needs(string id, string[] dependencies)
    {
        var path = Path.Combine(RepositoryRoot.Path, "artifacts", "packages", $"{id}.{Version}.nupkg");
        File.Exists(path).Should().BeTrue($"building {id} packs it into artifacts/packages");
        using var package = ZipFile.OpenRead(path);
        package.GetEntry($"lib/net10.0/{id}.dll").Should().NotBeNull().And.Match<ZipArchiveEntry>(e => e.Length > 0);
        using var nuspec = package.GetEntry($"{id}.nuspec")!.Open();
        var ids = XDocument.Load(nuspec).Descendants().Where(e => e.Name.LocalName == "dependency")
            .Select(e => e.Attribute("id")!.Value).ToList();
        ids.Should().Contain(dependencies);
    }
}
