using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using RareCancerNetwork.IntegrationTests.Infrastructure;
using RareCancerNetwork.Node.Audit;
using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.IntegrationTests;

/// <summary>The administrators' <c>audit verify</c> commands, on trails written by real nodes and then tampered with.</summary>
[Collection("processes")]
public sealed class AuditVerifyCommandTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task VerifyCommands_ReportIntactTrails_ThenNameTheFirstTamperedEntry()
    {
        using var folder = new TempFolder("rcn-audit-cli");
        await using (var hub = await HubNode.StartAsync(folder.Sub("hub"), extra: HubNode.EmbeddedStore))
        {
            var node = await hub.RegisterSpokeAsync("spoke-a", "CORE-004", folder.Sub("spoke"));
            var local = await hub.RegisterLocalClientAsync("spoke-a", "cli");
            await using var spoke = await SpokeNode.StartAsync(folder.Sub("spoke"), hub.Url, hub.CaPath, "spoke-a", "CORE-004", node);
            var client = new LocalConsultationService.LocalConsultationServiceClient(Clients.Channel(spoke.Url, spoke.CaPath,
                await Clients.TokenAsync(hub.Url, hub.CaPath, local, NetworkClaims.Scopes.Local)));
            for (var i = 0; i < 4; i++)
            {
                await client.ListConsultationsAsync(new(), cancellationToken: Ct);
            }
            for (var i = 0; i < 2; i++)
            {
                await RpcAssert.FailsAsync(Grpc.Core.StatusCode.Unauthenticated,
                    () => new DirectoryService.DirectoryServiceClient(Clients.Channel(hub.Url, hub.CaPath, "forged")).ListPrefecturesAsync(new(), cancellationToken: Ct).ResponseAsync);
            }
            // Both refused calls are in the hub's own trail before anyone tampers with it: removing entry 1 must leave
            // an entry 2 that no longer links (a trail of one entry, emptied, would read as intact — see docs/security.md).
            await Eventually.UntilAsync(() => hub.Services.GetRequiredService<AuditLog>().ReadAsync(0, 100, Ct), entries => entries.Count >= 2,
                "both refused calls in the hub's audit trail");
        }
        SqliteConnection.ClearAllPools();

        var hubVerify = await NodeProcess.RunAsync(NodeProcess.HubProgram, "--data", folder.Sub("hub"), "audit", "verify");
        Assert.Matches(@"intact  hub: ([2-9]|\d{2,}) entries", hubVerify);
        var spokeVerify = await NodeProcess.RunAsync(NodeProcess.SpokeProgram, "audit", "verify", "--data", folder.Sub("spoke"));
        Assert.Contains("intact: 4 entries", spokeVerify, StringComparison.Ordinal);

        Tamper(Path.Combine(folder.Sub("spoke"), "spoke.db"), "UPDATE audit_log SET user_id = 'someone-else' WHERE sequence = 3");
        var (spokeExit, spokeOutput) = await NodeProcess.RunForExitCodeAsync(NodeProcess.SpokeProgram, "audit", "verify", "--data", folder.Sub("spoke"));
        Assert.True(spokeExit == 1, spokeOutput);
        Assert.Contains("first broken entry 3", spokeOutput, StringComparison.Ordinal);

        Tamper(Path.Combine(folder.Sub("hub"), "hub.db"), "DELETE FROM audit_log WHERE sequence = 1");
        var (hubExit, hubOutput) = await NodeProcess.RunForExitCodeAsync(NodeProcess.HubProgram, "--data", folder.Sub("hub"), "audit", "verify");
        Assert.True(hubExit == 1, hubOutput);
        Assert.Contains("first broken entry 2", hubOutput, StringComparison.Ordinal);
    }

    private static void Tamper(string database, string sql)
    {
        using (var connection = new SqliteConnection($"Data Source={database};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete; " + sql;
            command.ExecuteNonQuery();
        }
        SqliteConnection.ClearAllPools();
    }
}
