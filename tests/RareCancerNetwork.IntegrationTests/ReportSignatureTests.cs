using System.Text.Json;
using Google.Protobuf;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using RareCancerNetwork.Hub.Consultations;
using RareCancerNetwork.Hub.Storage;
using RareCancerNetwork.IntegrationTests.Infrastructure;
using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Protos.Contract;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.IntegrationTests;

/// <summary>
/// Reports signed by the hub and verified at the spoke offline: valid as issued, across a key rollover, and invalid
/// once altered in transit, in the spoke's store, or in an exported file. The test has its own network, so the spoke
/// can be stopped and its store altered.
/// </summary>
public sealed class ReportSignatureTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ASignedReport_VerifiesAtTheSpoke_AcrossKeyRollover_AndFailsOnceAlteredAnywhere()
    {
        using var folder = new TempFolder("rcn-report-signatures");
        var hub = await HubNode.StartAsync(folder.Sub("hub"));
        await using var _ = hub;
        var node = await hub.RegisterSpokeAsync("spoke-a", "CORE-004", folder.Sub("spoke"));
        var local = await hub.RegisterLocalClientAsync("spoke-a", "pathology");
        var expert = new ExpertConsultationService.ExpertConsultationServiceClient(Clients.Channel(hub.Url, hub.CaPath,
            await Clients.TokenAsync(hub.Url, hub.CaPath, await hub.RegisterExpertAsync("sato", "佐藤 花子", 10, OrganSystem.SoftTissue), NetworkClaims.Scopes.Expert)));
        var localToken = await Clients.TokenAsync(hub.Url, hub.CaPath, local, NetworkClaims.Scopes.Local);
        var spoke = await SpokeNode.StartAsync(folder.Sub("spoke"), hub.Url, hub.CaPath, "spoke-a", "CORE-004", node);
        LocalConsultationService.LocalConsultationServiceClient Local() => new(Clients.Channel(spoke.Url, spoke.CaPath, localToken));
        var submission = Samples.Submission("P-SIG-1");
        await Local().SubmitConsultationAsync(submission, cancellationToken: Ct);
        var id = submission.ConsultationId;
        await Eventually.UntilAsync(async () => (await Local().GetConsultationAsync(new() { ConsultationId = id }, cancellationToken: Ct)).Consultation,
            c => c.Status == ConsultationStatus.Assigned, "assigned");
        Task<LocalConsultation> ReportsAsync(int count) => Eventually.UntilAsync(
            async () => (await Local().GetConsultationAsync(new() { ConsultationId = id }, cancellationToken: Ct)).Consultation,
            c => c.Reports.Count == count && c.SignatureChecks.Count == count && c.SignatureChecks.All(s => s.Status != SignatureStatus.UnknownKey), $"{count} report(s) at the spoke");

        // v1: valid at the spoke; exported, it verifies offline, and an edited copy does not.
        await expert.SubmitReportAsync(Samples.Report(id), cancellationToken: Ct);
        var first = await ReportsAsync(1);
        Assert.Equal(SignatureStatus.Valid, first.SignatureChecks[0].Status);
        var profile = folder.Sub("profile.json");
        await File.WriteAllTextAsync(profile, JsonSerializer.Serialize(new { HubUrl = hub.Url, HubCaCertificatePath = hub.CaPath, local.ClientId, local.ClientSecret }), Ct);
        var exported = folder.Sub("report-v1.json");
        var shown = await NodeProcess.RunAsync(NodeProcess.SpokeProgram, ["show", id, "--export-report", exported, "--profile", profile, "--session", folder.Sub("none.json"),
            "--spoke-url", spoke.Url, "--spoke-ca", spoke.CaPath]);
        Assert.Contains("hub signature: valid", shown, StringComparison.Ordinal);
        var (validExit, valid) = await NodeProcess.RunForExitCodeAsync(NodeProcess.SpokeProgram, ["verify-report", exported, "--data", folder.Sub("spoke")]);
        Assert.True(validExit == 0, valid);
        var edited = folder.Sub("report-v1-edited.json");
        await File.WriteAllTextAsync(edited, AlterComment(await File.ReadAllTextAsync(exported, Ct)), Ct);
        var (invalidExit, invalid) = await NodeProcess.RunForExitCodeAsync(NodeProcess.SpokeProgram, ["verify-report", edited, "--data", folder.Sub("spoke")]);
        Assert.Equal(1, invalidExit);
        Assert.Contains("INVALID", invalid, StringComparison.Ordinal);

        // Rollover: a new key signs from now; the old one is retired. The spoke fetches the new key and both versions verify.
        var keys = hub.Services.GetRequiredService<ReportSigningKeys>();
        var oldKey = first.SignatureChecks[0].KeyId;
        var newKey = (await keys.AddAsync(DateTimeOffset.UtcNow.AddMinutes(-1), Ct)).KeyId;
        await keys.RetireAsync(oldKey, Ct);
        await expert.SubmitReportAsync(Amendment(id, 1), cancellationToken: Ct);
        var second = await ReportsAsync(2);
        Assert.Equal([SignatureStatus.Valid, SignatureStatus.Valid], second.SignatureChecks.Select(s => s.Status));
        Assert.Equal([oldKey, newKey], second.SignatureChecks.Select(s => s.KeyId));

        // In transit: with the spoke away, v3's event is altered at the hub (its digest recomputed, as a careful forger would).
        await spoke.DisposeAsync();
        await expert.SubmitReportAsync(Amendment(id, 2), cancellationToken: Ct);
        await hub.Services.GetRequiredService<HubDatabase>().WriteAsync(async (connection, transaction) =>
        {
            var events = new List<(long Sequence, SubscribeEventsResponse Event)>();
            await using (var read = connection.Command("SELECT sequence, payload FROM spoke_events WHERE spoke_node_id = 'spoke-a'", transaction))
            await using (var reader = await read.ExecuteReaderAsync(Ct))
            {
                while (await reader.ReadAsync(Ct))
                {
                    events.Add((reader.GetInt64(0), SubscribeEventsResponse.Parser.ParseFrom((byte[])reader[1])));
                }
            }
            var (sequence, issued) = events.Single(e => e.Event.ReportIssued?.Version == 3);
            issued.ReportIssued.Diagnosis.Text = "高分化型脂肪肉腫";
            issued.ReportIssued.ContentSha256 = ReportDigest.Compute(issued.ReportIssued);
            await using var update = connection.Command("UPDATE spoke_events SET payload = @payload WHERE spoke_node_id = 'spoke-a' AND sequence = @sequence", transaction)
                .With("@payload", issued.ToByteArray()).With("@sequence", sequence);
            await update.ExecuteNonQueryAsync(Ct);
        }, Ct);
        spoke = await SpokeNode.StartAsync(folder.Sub("spoke"), hub.Url, hub.CaPath, "spoke-a", "CORE-004", node);
        await using var __ = spoke;
        var third = await ReportsAsync(3);
        Assert.Equal([SignatureStatus.Valid, SignatureStatus.Valid, SignatureStatus.Invalid], third.SignatureChecks.Select(s => s.Status));
        Assert.Contains("altered after signing", third.SignatureChecks[2].Detail, StringComparison.Ordinal);

        // In the spoke's own store: v1 rewritten there (digest recomputed) fails too.
        await using (var connection = new SqliteConnection($"Data Source={Path.Combine(folder.Sub("spoke"), "spoke.db")};Pooling=False"))
        {
            await connection.OpenAsync(Ct);
            await using var read = connection.CreateCommand();
            read.CommandText = "SELECT report FROM consultation_reports WHERE consultation_id = $id AND version = 1";
            read.Parameters.AddWithValue("$id", id);
            var stored = ConsultationReport.Parser.ParseFrom((byte[])(await read.ExecuteScalarAsync(Ct))!);
            stored.Diagnosis.Text += "（改変）";
            stored.ContentSha256 = ReportDigest.Compute(stored);
            await using var write = connection.CreateCommand();
            write.CommandText = "UPDATE consultation_reports SET report = $report WHERE consultation_id = $id AND version = 1";
            write.Parameters.AddWithValue("$report", stored.ToByteArray());
            write.Parameters.AddWithValue("$id", id);
            await write.ExecuteNonQueryAsync(Ct);
        }
        var afterTamper = (await Local().GetConsultationAsync(new() { ConsultationId = id }, cancellationToken: Ct)).Consultation;
        Assert.Equal([SignatureStatus.Invalid, SignatureStatus.Valid, SignatureStatus.Invalid], afterTamper.SignatureChecks.Select(s => s.Status));
    }

    private static SubmitReportRequest Amendment(string id, int replaces)
    {
        var amendment = Samples.Report(id, replacesVersion: replaces);
        amendment.AmendmentReason = "追加の免疫染色結果";
        return amendment;
    }

    /// <summary>The exported report with one word of its comment changed, the JSON otherwise as written.</summary>
    private static string AlterComment(string json)
    {
        var report = JsonParser.Default.Parse<ConsultationReport>(json);
        report.Comment += "（改変）";
        return RareCancerNetwork.Node.CommandLine.ConsoleOutput.ToJson(report);
    }
}
