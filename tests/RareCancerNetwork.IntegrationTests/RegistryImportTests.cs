using Hl7.Fhir.Serialization;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using RareCancerNetwork.IntegrationTests.Infrastructure;
using RareCancerNetwork.Tests.Shared;

namespace RareCancerNetwork.IntegrationTests;

/// <summary>The site's history from a spreadsheet: 'spoke registry import' as a person runs it, against a running spoke.</summary>
[Collection(NetworkCollection.Name)]
public sealed class RegistryImportTests(TestNetwork network)
{
    private const int Rows = 2_000;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("utf-8")]
    [InlineData("shift_jis")]
    public async Task ThousandsOfRows_BadOnesReported_ValidOnesImportedOnce(string encoding)
    {
        using var folder = new TempFolder("rcn-import");
        var run = $"{encoding[..3].ToUpperInvariant()}-{Guid.CreateVersion7().ToString("N")[^6..]}";
        // Every 40th row names a gene by an alias (refused by the spoke's rules); every 97th has an unreadable age.
        var rows = Enumerable.Range(1, Rows).Select(i => RegistryCsvSamples.Row($"IMP-{run}-{i:D5}",
            gene: i % 40 == 0 ? "HER2" : "MDM2", age: i % 97 == 0 ? "forty" : "47", regimen: i % 2 == 0 ? "パゾパニブ" : "トラベクテジン"));
        var text = RegistryCsvSamples.File(rows);
        var file = folder.Sub("registry.csv");
        await File.WriteAllBytesAsync(file, encoding == "utf-8" ? RegistryCsvSamples.Utf8WithBom(text) : RegistryCsvSamples.ShiftJis(text), Ct);
        var arguments = await ArgumentsAsync(folder, file);

        var (exit, output) = await NodeProcess.RunForExitCodeAsync(NodeProcess.SpokeProgram, arguments);
        const int rejected = Rows / 40 + Rows / 97;
        Assert.True(exit == 1, output);
        Assert.Contains($"{Rows:N0} rows: {Rows - rejected:N0} imported, 0 already imported, {rejected:N0} rejected", output, StringComparison.Ordinal);

        var report = (await File.ReadAllLinesAsync(file + ".rejected.csv", Ct)).Skip(1).ToList();
        Assert.Equal(rejected, report.Count);
        Assert.Contains("40,biomarkers,\"entry 1, gene: HER2 is an alias of ERBB2; use the approved symbol ERBB2\"", report);
        Assert.Contains("97,age_at_enrolment,'forty' is not a whole number", report);

        // The same file again: nothing new.
        var (again, againOutput) = await NodeProcess.RunForExitCodeAsync(NodeProcess.SpokeProgram, arguments);
        Assert.Equal(1, again);
        Assert.Contains($"{Rows:N0} rows: 0 imported, {Rows - rejected:N0} already imported, {rejected:N0} rejected", againOutput, StringComparison.Ordinal);

        // Japanese text arrived intact, at the spoke and, in batches, at the hub.
        var listed = await Eventually.UntilAsync(async () => await ImportedAsync(run),
            records => records.Count == Rows - rejected && records.All(r => r.SyncState == Protos.V1.RegistrySyncState.Synchronised), "every imported record at the hub",
            TimeSpan.FromSeconds(120));
        Assert.Contains(listed, r => r.Record.TreatmentLines[0].Regimen == "トラベクテジン");
        var atHub = await network.Hub.Services.GetRequiredService<Hub.Registry.RegistryStore>().GetAsync(listed[0].Record.RecordId, Ct);
        Assert.Equal(listed[0].Record, atHub);
    }

    /// <summary>One record by hand: create from the documented example, show, list, answer a data query, export, withdraw.</summary>
    [Fact]
    public async Task CommandLine_CreateShowListAnswerAQueryExportWithdraw()
    {
        using var folder = new TempFolder("rcn-registry-cli");
        var example = Path.Combine(NodeProcess.RepositoryRoot, "docs", "examples", "registry-record.json");
        var file = folder.Sub("record.json");
        // A patient id of its own, so the example can be created again by other runs.
        await File.WriteAllTextAsync(file, (await File.ReadAllTextAsync(example, Ct)).Replace("TKY-000123", $"CLI-{Guid.CreateVersion7():N}", StringComparison.Ordinal), Ct);
        var connection = (await ArgumentsAsync(folder, file))[4..];

        var created = await NodeProcess.RunAsync(NodeProcess.SpokeProgram, ["registry", "create", "--file", file, "--json", .. connection]);
        var record = Google.Protobuf.JsonParser.Default.Parse<Protos.V1.LocalRegistryRecord>(created);
        Assert.Equal("パゾパニブ", record.Record.TreatmentLines[0].Regimen);
        var id = record.Record.RecordId;
        Assert.Contains("Already enrolled", await NodeProcess.RunAsync(NodeProcess.SpokeProgram, ["registry", "create", "--file", file, .. connection]),
            StringComparison.Ordinal);

        await Eventually.UntilAsync(async () => await NodeProcess.RunAsync(NodeProcess.SpokeProgram, ["registry", "show", id, .. connection]),
            shown => shown.Contains("synchronised", StringComparison.Ordinal), "the record at the hub");
        var listed = await NodeProcess.RunAsync(NodeProcess.SpokeProgram, ["registry", "list", "--json", .. connection]);
        Assert.Contains(id, listed, StringComparison.Ordinal);

        // A data query from the national registry, listed and answered here.
        var (query, _) = await network.Hub.Services.GetRequiredService<Hub.Registry.DataQueryStore>().RaiseAsync(new()
        {
            QueryId = Guid.CreateVersion7().ToString(), RecordId = id, Field = "ecog", Question = "ECOG を再確認してください",
        }, "dm-cli", Ct);
        var open = await Eventually.UntilAsync(async () => await NodeProcess.RunAsync(NodeProcess.SpokeProgram, ["registry", "queries", "--record", id, .. connection]),
            shown => shown.Contains(query.QueryId, StringComparison.Ordinal), "the query at the spoke");
        Assert.Contains("ECOG を再確認してください", open, StringComparison.Ordinal);
        Assert.Contains("Answered", await NodeProcess.RunAsync(NodeProcess.SpokeProgram, ["registry", "confirm", query.QueryId, "--comment", "外来記録で確認済み", .. connection]),
            StringComparison.Ordinal);
        await Eventually.UntilAsync(async () => await NodeProcess.RunAsync(NodeProcess.SpokeProgram, ["registry", "queries", "--all", "--record", id, .. connection]),
            shown => shown.Contains("closed: Confirmed", StringComparison.Ordinal), "the query closed");

        var bundle = folder.Sub("bundle.json");
        Assert.Contains("Exported", await NodeProcess.RunAsync(NodeProcess.SpokeProgram, ["registry", "export", "--out", bundle, .. connection]), StringComparison.Ordinal);
        var exported = new FhirJsonDeserializer().Deserialize<Hl7.Fhir.Model.Bundle>(await File.ReadAllTextAsync(bundle, Ct));
        Assert.Contains(exported.Entry.Select(e => e.Resource).OfType<Hl7.Fhir.Model.Condition>(), c => c.Identifier.Any(i => i.Value == id));

        Assert.Contains("Withdrawn", await NodeProcess.RunAsync(NodeProcess.SpokeProgram, ["registry", "withdraw", id, "--on", "2026-02-10", .. connection]),
            StringComparison.Ordinal);
        var (exit, gone) = await NodeProcess.RunForExitCodeAsync(NodeProcess.SpokeProgram, ["registry", "show", id, .. connection]);
        Assert.NotEqual(0, exit);
        Assert.Contains("withdrawn", gone, StringComparison.Ordinal);
    }

    private async Task<List<Protos.V1.LocalRegistryRecord>> ImportedAsync(string run)
    {
        var all = new List<Protos.V1.LocalRegistryRecord>();
        var token = "";
        do
        {
            var page = await network.RegistryA().ListRegistryRecordsAsync(new() { PageSize = 200, PageToken = token }, cancellationToken: Ct);
            all.AddRange(page.Records.Where(r => r.LocalPatientId.StartsWith($"IMP-{run}-", StringComparison.Ordinal)));
            token = page.NextPageToken;
        }
        while (token.Length > 0);
        return all;
    }

    /// <summary>A local client's profile, as 'hub register-local-client --write-config' writes it.</summary>
    private async Task<string[]> ArgumentsAsync(TempFolder folder, string file)
    {
        var client = await network.Hub.RegisterLocalClientAsync("spoke-a", $"importer-{Guid.CreateVersion7().ToString("N")[^8..]}");
        var profile = folder.Sub("profile.json");
        await File.WriteAllTextAsync(profile, JsonSerializer.Serialize(new
        {
            HubUrl = network.Hub.Url,
            HubCaCertificatePath = network.Hub.CaPath,
            client.ClientId,
            client.ClientSecret,
        }), Ct);
        return ["registry", "import", "--file", file, "--profile", profile, "--session", folder.Sub("no-session.json"),
            "--spoke-url", network.SpokeA.Url, "--spoke-ca", network.SpokeA.CaPath];
    }
}
