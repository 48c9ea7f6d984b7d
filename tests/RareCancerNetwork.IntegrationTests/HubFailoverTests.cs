using Npgsql;
using RareCancerNetwork.IntegrationTests.Infrastructure;
using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Protos.V1;
using RareCancerNetwork.Tests.Shared;

namespace RareCancerNetwork.IntegrationTests;

/// <summary>
/// Two hub processes on one PostgreSQL database behind a load balancer; one is killed with SIGKILL while
/// a spoke is delivering. The spoke goes on through the other: nothing it was told is stored is lost,
/// and nothing arrives twice.
/// </summary>
[Collection("processes")]
public sealed class HubFailoverTests
{
    private const int Submissions = 40;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task OneInstanceKilledMidDelivery_TheSpokeFailsOverToTheOther_NothingLostNothingDoubled()
    {
        var connectionString = await (await PostgresCluster.SharedAsync()).CreateDatabaseAsync();
        using var folder = new TempFolder("rcn-failover");
        await using var balancer = new TcpRelay();
        var settings = TwoHubInstances.Settings(connectionString, balancer.Url);

        // The administrator initialises the database and registers the spoke, its client and an expert.
        RegisteredNode node;
        Hub.Identity.IssuedCredentials local;
        string caPath;
        await using (var admin = await HubNode.StartAsync(folder.Sub("hub"), extra: settings))
        {
            node = await admin.RegisterSpokeAsync("spoke-osaka", "CORE-010", folder.Sub("spoke"));
            local = await admin.RegisterLocalClientAsync("spoke-osaka", "cli");
            await admin.RegisterExpertAsync("kato", "加藤 恵", 1000, OrganSystem.SoftTissue);
            caPath = admin.CaPath;
        }

        var environment = settings.ToDictionary(s => s.Key.Replace(":", "__", StringComparison.Ordinal), s => s.Value!);
        var (portA, portB) = (NodeProcess.FreeLoopbackPort(), NodeProcess.FreeLoopbackPort());
        using var hubA = NodeProcess.Start(NodeProcess.HubProgram, ["--data", folder.Sub("hub"), "run", "--listen", $"https://127.0.0.1:{portA}"], environment);
        using var hubB = NodeProcess.Start(NodeProcess.HubProgram, ["--data", folder.Sub("hub"), "run", "--listen", $"https://127.0.0.1:{portB}"], environment);
        await hubA.WaitForLineAsync("Hub listening on");
        await hubB.WaitForLineAsync("Hub listening on");
        // A first; B takes every connection A no longer accepts.
        balancer.Route(portA, portB);

        await using var spoke = await SpokeNode.StartAsync(folder.Sub("spoke"), balancer.Url, caPath, "spoke-osaka", "CORE-010", node);
        var client = new LocalConsultationService.LocalConsultationServiceClient(
            Clients.Channel(spoke.Url, spoke.CaPath, await Clients.TokenAsync(balancer.Url, caPath, local, NetworkClaims.Scopes.Local)));
        var submissions = Enumerable.Range(1, Submissions).Select(i => Samples.Submission($"OSK-{i:D4}")).ToList();
        foreach (var submission in submissions.Take(10))
        {
            await client.SubmitConsultationAsync(submission, cancellationToken: Ct);
        }

        // Killed once some deliveries have arrived through it; the spoke is still delivering, and more come.
        await Eventually.UntilAsync(() => CountAsync(connectionString, "SELECT COUNT(*) FROM consultations"), n => n >= 3, "the first deliveries at the hub",
            TimeSpan.FromSeconds(60));
        hubA.KillHard();
        foreach (var submission in submissions.Skip(10))
        {
            await client.SubmitConsultationAsync(submission, cancellationToken: Ct);
        }

        foreach (var submission in submissions)
        {
            await Eventually.UntilAsync(
                async () => (await client.GetConsultationAsync(new() { ConsultationId = submission.ConsultationId }, cancellationToken: Ct)).Consultation,
                c => c.Status == ConsultationStatus.Assigned && c.DeliveryState == DeliveryState.Delivered, $"{submission.ConsultationId} delivered and assigned",
                TimeSpan.FromSeconds(90));
        }
        Assert.Equal(Submissions, await CountAsync(connectionString, "SELECT COUNT(*) FROM consultations"));
        Assert.Equal(Submissions, await CountAsync(connectionString, "SELECT open_cases FROM experts WHERE expert_id = 'kato'"));
        // Each consultation's two events once, numbered without a gap or a repeat.
        // (The feed also carries the directory's announcements, which have no consultation; and each status change has its timeline step.)
        Assert.Equal(Submissions * 4, await CountAsync(connectionString, "SELECT COUNT(*) FROM spoke_events WHERE spoke_node_id = 'spoke-osaka' AND consultation_id <> ''"));
        Assert.Equal(await CountAsync(connectionString, "SELECT COUNT(*) FROM spoke_events WHERE spoke_node_id = 'spoke-osaka'"),
            await CountAsync(connectionString, "SELECT MAX(sequence) FROM spoke_events WHERE spoke_node_id = 'spoke-osaka'"));
        Assert.Equal(Submissions, (await client.ListConsultationsAsync(new() { PageSize = 100 }, cancellationToken: Ct)).Consultations.Count);
        Assert.Contains("Node spoke-osaka delivered", hubB.Output, StringComparison.Ordinal);
    }

    private static async Task<long> CountAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(Ct), System.Globalization.CultureInfo.InvariantCulture);
    }
}
