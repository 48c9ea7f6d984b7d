using Microsoft.Data.Sqlite;
using RareCancerNetwork.IntegrationTests.Infrastructure;
using RareCancerNetwork.Protos.V1;
using RareCancerNetwork.Tests.Shared;

namespace RareCancerNetwork.IntegrationTests;

/// <summary>
/// The reliability promises with real processes: the hub killed with SIGKILL, a submission accepted
/// while it is down, the spoke killed with the submission still queued, both restarted — nothing
/// acknowledged is lost and nothing is applied twice.
/// </summary>
[Collection("processes")]
[Trait(ProcessNetwork.HubStoreTrait, ProcessNetwork.OwnHubStore)]
public sealed class ProcessReliabilityTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task HubKilled_SubmissionAcceptedLocally_SpokeKilledAndRestarted_ArrivesOnceAfterHubReturns()
    {
        using var folder = new TempFolder("rcn-process");
        using var network = await ProcessNetwork.StartAsync(folder);
        var local = network.Local();

        // 1. Normal operation: delivered and assigned.
        var first = Samples.Submission("OSK-0001");
        await local.SubmitConsultationAsync(first, cancellationToken: Ct);
        await network.AtSpokeAsync(first.ConsultationId, c => c.Status == ConsultationStatus.Assigned, "the first consultation assigned");

        // 2. Hub killed: the spoke still accepts, stores and answers.
        network.Hub.KillHard();
        var second = Samples.Submission("OSK-0002");
        var accepted = await local.SubmitConsultationAsync(second, cancellationToken: Ct);
        Assert.Equal(ConsultationStatus.Submitted, accepted.Consultation.Status);
        Assert.Equal(DeliveryState.Pending, accepted.Consultation.DeliveryState);
        var listed = await local.ListConsultationsAsync(new(), cancellationToken: Ct);
        Assert.Contains(listed.Consultations, c => c.ConsultationId == second.ConsultationId);

        // 3. Spoke killed with the submission still in its outbox, then restarted.
        network.Spoke.KillHard();
        await network.StartSpokeAsync();

        // The restarted spoke still serves its users while the hub is away (hub keys kept on disk).
        var whileHubIsDown = await network.Local().GetConsultationAsync(new() { ConsultationId = second.ConsultationId }, cancellationToken: Ct);
        Assert.Equal(DeliveryState.Pending, whileHubIsDown.Consultation.DeliveryState);

        // 4. Hub back at the same address: the queued submission arrives by itself.
        await network.StartHubAsync();
        local = network.Local();
        var delivered = await network.AtSpokeAsync(second.ConsultationId, c => c.Status == ConsultationStatus.Assigned, "the queued consultation assigned");
        Assert.Equal(DeliveryState.Delivered, delivered.DeliveryState);
        Assert.Equal("OSK-0002", delivered.LocalPatientId);

        // 5. The pathologist retries the same submission: recognised, not doubled.
        var retried = await local.SubmitConsultationAsync(second, cancellationToken: Ct);
        Assert.True(retried.Duplicate);

        // 6. The hub holds each consultation exactly once; the report flows back.
        var expert = network.Expert();
        var assigned = (await expert.ListAssignedConsultationsAsync(new() { PageSize = 200 }, cancellationToken: Ct)).Consultations;
        Assert.Equal(new[] { first.ConsultationId, second.ConsultationId }.Order(), assigned.Select(c => c.ConsultationId).Order());
        await expert.SubmitReportAsync(Samples.Report(second.ConsultationId), cancellationToken: Ct);
        var reported = await network.AtSpokeAsync(second.ConsultationId, c => c.Reports.Count == 1, "the report at the spoke");
        Assert.Equal(ConsultationStatus.Reported, reported.Status);
        var all = (await local.ListConsultationsAsync(new(), cancellationToken: Ct)).Consultations;
        Assert.Equal(2, all.Count);
    }

    /// <summary>
    /// The hub killed with SIGKILL at random moments, round after round, while a spoke syncs thousands of registry
    /// records: once it stays up, it holds every record the spoke acknowledged exactly once, each with its one version.
    /// </summary>
    [Fact]
    public async Task HubKilledAtRandomMomentsDuringARegistrySync_HoldsEveryAcknowledgedRecordExactlyOnce()
    {
        const int count = 3_000;
        using var folder = new TempFolder("rcn-process-registry");
        using var network = await ProcessNetwork.StartAsync(folder);
        var registry = new LocalRegistryService.LocalRegistryServiceClient(
            Clients.Channel(network.SpokeUrl, Path.Combine(network.SpokeDataFolder, "tls", "dev-ca.crt"), network.LocalToken));
        var records = Enumerable.Range(0, count).Select(_ => RegistrySamples.Record("CORE-010")).ToList();
        var random = new Random(20261124);
        // Six rounds: a batch acknowledged by the spoke, then the hub killed a random moment later — while it is taking
        // this batch or the backlog the previous kill left — and started again.
        foreach (var chunk in records.Select((record, i) => new ImportedRecord { LocalPatientId = $"KILL-{i:D5}", Record = record }).Chunk(500))
        {
            var import = new ImportRegistryRecordsRequest();
            import.Records.AddRange(chunk);
            Assert.All((await registry.ImportRegistryRecordsAsync(import, cancellationToken: Ct)).Results, r => Assert.Equal(ImportOutcome.Created, r.Outcome));
            await Task.Delay(random.Next(0, 400), Ct);
            network.Hub.KillHard();
            await network.StartHubAsync();
        }

        var hubDatabase = Path.Combine(network.HubDataFolder, "hub.db");
        await Eventually.UntilAsync(() => CountAsync(hubDatabase, "registry_records"), n => n == count, "every record at the hub", TimeSpan.FromMinutes(3));
        Assert.Equal(count, await CountAsync(hubDatabase, "registry_record_versions"));
        Assert.Equal(count, await CountAsync(hubDatabase, "registry_record_facts"));
    }

    private static async Task<long> CountAsync(string database, string table)
    {
        await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = database, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        await connection.OpenAsync(Ct);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT COUNT(*) FROM {table}";
        return (long)(await command.ExecuteScalarAsync(Ct))!;
    }
}
