using Hl7.Fhir.Serialization;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using RareCancerNetwork.Hub.Registry;
using RareCancerNetwork.Hub.Storage;
using RareCancerNetwork.IntegrationTests.Infrastructure;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Protos.V1;
using RareCancerNetwork.Tests.Shared;

namespace RareCancerNetwork.IntegrationTests;

/// <summary>The registry from the spoke's local API to the national registry: versions, conflicts, consent, batches.</summary>
[Collection(NetworkCollection.Name)]
public sealed class RegistryTests(TestNetwork network)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private LocalRegistryService.LocalRegistryServiceClient Registry() => network.RegistryA();

    private Task<LocalRegistryRecord> AwaitStateAsync(string recordId, RegistrySyncState state) =>
        Eventually.UntilAsync(async () => (await Registry().GetRegistryRecordAsync(new() { RecordId = recordId }, cancellationToken: Ct)).Record,
            r => r.SyncState == state, $"record {recordId} {state}");

    private Task<RegistryRecord?> AtHubAsync(string recordId) =>
        network.Hub.Services.GetRequiredService<RegistryStore>().GetAsync(recordId, Ct);

    [Fact]
    public async Task Create_Update_ReachTheHub_StaleLocalUpdateRefused_HistoryKept()
    {
        var record = RegistrySamples.Record(TestNetwork.FacilityA);
        var created = await Registry().CreateRegistryRecordAsync(new() { LocalPatientId = "REG-0001", Record = record }, cancellationToken: Ct);
        Assert.False(created.Duplicate);
        Assert.Equal(RegistrySyncState.Pending, created.Record.SyncState);
        Assert.Matches("^[0-9a-f]{64}$", created.Record.Record.PatientPseudonym);
        Assert.Equal(TestNetwork.FacilityA, created.Record.Record.EnrollingFacilityCode);
        await AwaitStateAsync(record.RecordId, RegistrySyncState.Synchronised);
        var atHub = await AtHubAsync(record.RecordId);
        Assert.Equal(created.Record.Record, atHub);
        Assert.DoesNotContain("REG-0001", atHub!.ToString(), StringComparison.Ordinal);
        Assert.Equal("MDM2阻害薬（治験）", atHub.TreatmentLines[1].Regimen);

        // A retried create is recognised.
        Assert.True((await Registry().CreateRegistryRecordAsync(new() { LocalPatientId = "REG-0001", Record = record }, cancellationToken: Ct)).Duplicate);

        var update = created.Record.Record.Clone();
        update.Version = 2;
        update.Ecog = 2;
        update.FollowUp.LastContactDate = "2026-02-20";
        await Registry().UpdateRegistryRecordAsync(new() { Record = update }, cancellationToken: Ct);
        await AwaitStateAsync(record.RecordId, RegistrySyncState.Synchronised);
        Assert.Equal(2, (await AtHubAsync(record.RecordId))!.Ecog);

        // Someone else's change came first: refused, with what to do.
        var stale = update.Clone();
        stale.Ecog = 3;
        var refused = await RpcAssert.FailsAsync(StatusCode.FailedPrecondition,
            () => Registry().UpdateRegistryRecordAsync(new() { Record = stale }, cancellationToken: Ct).ResponseAsync);
        Assert.Contains("latest version is 2", refused.Status.Detail, StringComparison.Ordinal);

        var versions = (await Registry().ListRegistryRecordVersionsAsync(new() { RecordId = record.RecordId }, cancellationToken: Ct)).Versions;
        Assert.Equal([1L, 2L], versions.Select(v => v.Version));
        Assert.Equal([1L, 2L], (await network.Hub.Services.GetRequiredService<RegistryStore>().VersionsAsync(record.RecordId, Ct)).Select(v => v.Version));
    }

    [Fact]
    public async Task StaleAtTheHub_ShowsTheConflictWithBothVersions_UntilAPersonResolvesIt()
    {
        var keep = await CreateSynchronisedAsync("REG-KEEP");
        var take = await CreateSynchronisedAsync("REG-TAKE");
        // Another version 2 reached the hub first (the spoke restored from an older backup, say).
        foreach (var record in new[] { keep, take })
        {
            var competing = record.Clone();
            competing.Version = 2;
            competing.Ecog = 4;
            competing.Biomarkers[0].Detail = "copy number 30";
            var answer = await new RegistrySyncService.RegistrySyncServiceClient(network.HubChannel(network.NodeTokenA))
                .DeliverRegistryRecordsAsync(new() { Records = { competing } }, cancellationToken: Ct);
            Assert.Equal(RegistryDeliveryOutcome.Stored, answer.Results[0].Outcome);

            var mine = record.Clone();
            mine.Version = 2;
            mine.Ecog = 0;
            mine.FollowUp.LastContactDate = "2026-02-25";
            await Registry().UpdateRegistryRecordAsync(new() { Record = mine }, cancellationToken: Ct);
        }

        var conflict = await AwaitStateAsync(keep.RecordId, RegistrySyncState.Conflict);
        Assert.Equal(0, conflict.Record.Ecog);
        Assert.Equal(4, conflict.HubVersion.Ecog);
        Assert.Equal(["ecog", "biomarkers[0].detail", "follow_up.last_contact_date"], conflict.DifferingFields);
        Assert.Contains("holds version 2", conflict.SyncError, StringComparison.Ordinal);
        var listed = (await Registry().ListRegistryRecordsAsync(new() { ConflictsOnly = true }, cancellationToken: Ct)).Records;
        Assert.Contains(listed, r => r.Record.RecordId == keep.RecordId);
        Assert.All(listed, r => Assert.Equal(RegistrySyncState.Conflict, r.SyncState));

        // While in conflict, no further update: a person decides first.
        var another = conflict.Record.Clone();
        another.Version = 3;
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => Registry().UpdateRegistryRecordAsync(new() { Record = another }, cancellationToken: Ct).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => Registry().ResolveRegistryConflictAsync(
            new() { RecordId = keep.RecordId, Resolution = ConflictResolution.KeepSpoke, HubVersion = 1 }, cancellationToken: Ct).ResponseAsync);

        // Keep the spoke's content: a version 3 on top of the hub's version 2.
        await Registry().ResolveRegistryConflictAsync(new() { RecordId = keep.RecordId, Resolution = ConflictResolution.KeepSpoke, HubVersion = 2 }, cancellationToken: Ct);
        var kept = await AwaitStateAsync(keep.RecordId, RegistrySyncState.Synchronised);
        Assert.Equal(3, kept.Record.Version);
        var keptAtHub = (await AtHubAsync(keep.RecordId))!;
        Assert.Equal(3, keptAtHub.Version);
        Assert.Equal(0, keptAtHub.Ecog);
        Assert.Equal("2026-02-25", keptAtHub.FollowUp.LastContactDate);

        // Take the hub's: the spoke's record becomes the hub's version 2; nothing more is sent.
        await AwaitStateAsync(take.RecordId, RegistrySyncState.Conflict);
        var taken = (await Registry().ResolveRegistryConflictAsync(new() { RecordId = take.RecordId, Resolution = ConflictResolution.TakeHub, HubVersion = 2 },
            cancellationToken: Ct)).Record;
        Assert.Equal(RegistrySyncState.Synchronised, taken.SyncState);
        Assert.Equal(await AtHubAsync(take.RecordId), taken.Record);
        var history = (await Registry().ListRegistryRecordVersionsAsync(new() { RecordId = take.RecordId }, cancellationToken: Ct)).Versions;
        Assert.Equal([1L, 2L, 2L], history.Select(v => v.Version));
        Assert.Equal(4, history[^1].Ecog);
    }

    [Fact]
    public async Task WithoutRegistryConsent_TheRecordNeverLeavesTheSpoke_UntilConsentIsRecorded()
    {
        var record = RegistrySamples.Record(TestNetwork.FacilityA);
        record.Consent.RegistryParticipation = false;
        var created = (await Registry().CreateRegistryRecordAsync(new() { LocalPatientId = "REG-LOCAL", Record = record }, cancellationToken: Ct)).Record;
        Assert.Equal(RegistrySyncState.LocalOnly, created.SyncState);

        // A later record is delivered meanwhile: the consent-less one is still not at the hub, and never queued.
        var later = await CreateSynchronisedAsync("REG-AFTER");
        Assert.NotNull(await AtHubAsync(later.RecordId));
        Assert.Null(await AtHubAsync(record.RecordId));
        Assert.Equal(0, await SpokeOutboxCountAsync(record.RecordId));

        var consented = created.Record.Clone();
        consented.Version = 2;
        consented.Consent.RegistryParticipation = true;
        await Registry().UpdateRegistryRecordAsync(new() { Record = consented }, cancellationToken: Ct);
        await AwaitStateAsync(record.RecordId, RegistrySyncState.Synchronised);
        Assert.Equal(2, (await AtHubAsync(record.RecordId))!.Version);

        // Switching participation off again is not an update: withdrawal is its own operation.
        var off = consented.Clone();
        off.Version = 3;
        off.Consent.RegistryParticipation = false;
        var refusal = await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => Registry().UpdateRegistryRecordAsync(new() { Record = off }, cancellationToken: Ct).ResponseAsync);
        Assert.Contains("withdrawal", refusal.Status.Detail, StringComparison.Ordinal);
    }

    /// <summary>A spoke back from an outage sends its backlog in a few calls, not one per record.</summary>
    [Fact]
    public async Task ABacklogAfterAnOutage_TravelsInBatches_NotOneCallPerRecord()
    {
        // Within one client's burst budget (docs/security.md).
        const int count = 150;
        using var folder = new TempFolder("rcn-registry-backlog");
        await using var link = new TcpRelay(network.Hub.Port);
        var hub = network.Hub;
        var (spoke, client) = await OutageSpokeAsync(link, folder, "spoke-outage");
        await using var _ = spoke;
        link.Route();
        link.DropConnections();

        var records = Enumerable.Range(0, count).Select(i => RegistrySamples.Record("CORE-010")).ToList();
        foreach (var (record, i) in records.Select((record, i) => (record, i)))
        {
            await client.CreateRegistryRecordAsync(new() { LocalPatientId = $"OUTAGE-{i:D4}", Record = record }, cancellationToken: Ct);
        }
        var before = await HubCallsAsync("node-spoke-outage");
        link.Route(hub.Port);
        await Eventually.UntilAsync(async () => (await client.ListRegistryRecordsAsync(new() { PageSize = 200 }, cancellationToken: Ct)).Records,
            listed => listed.Count == count && listed.All(r => r.SyncState == RegistrySyncState.Synchronised), "every record synchronised");
        var calls = await HubCallsAsync("node-spoke-outage") - before;
        Assert.True(calls <= 5, $"{count} records took {calls} delivery calls");
        // Only this test's records: other tests of the shared network enrol at the same facility, in any order.
        Assert.Equal(count, await HubRecordCountAsync(records.Select(r => r.RecordId)));
    }

    /// <summary>
    /// A backlog longer than the registry batches the spoke keeps in flight: a new batch goes as soon as one is answered,
    /// never one already in flight, and a record's later version waits until its first is answered. Every version
    /// arrives once and in order (no conflict), in as many calls as batches.
    /// </summary>
    [Fact]
    public async Task ABacklogLongerThanTheBatchesInFlight_ArrivesOnce_EachRecordsVersionsInOrder()
    {
        // Nine batches of 500: more than the eight in flight, so the ninth and the later versions are read while the first eight are out.
        const int count = 4_500;
        using var folder = new TempFolder("rcn-registry-window");
        await using var link = new TcpRelay(network.Hub.Port);
        var (queuing, client, node) = await OutageSpokeWithNodeAsync(link, folder, "spoke-window");
        var records = Enumerable.Range(0, count).Select(i => RegistrySamples.Record("CORE-010")).ToList();
        var chunks = records.Select((record, i) => new ImportedRecord { LocalPatientId = $"WINDOW-{i:D4}", Record = record }).Chunk(500).ToList();
        var updated = records.Skip(3_500).Take(5).Select(r => r.RecordId).ToList();
        await using (queuing)
        {
            link.Route();
            link.DropConnections();
            async Task ImportAsync(ImportedRecord[] chunk)
            {
                var import = new ImportRegistryRecordsRequest();
                import.Records.AddRange(chunk);
                Assert.All((await client.ImportRegistryRecordsAsync(import, cancellationToken: Ct)).Results, r => Assert.Equal(ImportOutcome.Created, r.Outcome));
            }
            foreach (var chunk in chunks.SkipLast(1))
            {
                await ImportAsync(chunk);
            }
            // Second versions of records in the eighth batch, queued before the last 500 first versions: they wait for their
            // first versions' answers, and the reads after them must not send the batch in flight behind them again.
            foreach (var id in updated)
            {
                var second = (await client.GetRegistryRecordAsync(new() { RecordId = id }, cancellationToken: Ct)).Record.Record.Clone();
                second.Version = 2;
                second.FollowUp.LastContactDate = "2026-02-20";
                await client.UpdateRegistryRecordAsync(new() { Record = second }, cancellationToken: Ct);
            }
            await ImportAsync(chunks[^1]);
        }
        // Started again on the whole queue (what the first instance was sending only ever waited for the hub), so that its
        // first read takes the first eight batches, whatever the timing of the imports.
        await using var spoke = await SpokeNode.StartAsync(folder.Sub("spoke"), link.Url, network.Hub.CaPath, "spoke-window", "CORE-010", node);

        link.Route(network.Hub.Port);

        await Eventually.UntilAsync(() => HubVersionCountAsync(records.Select(r => r.RecordId)), n => n >= count + updated.Count, "every version at the hub",
            TimeSpan.FromSeconds(120));
        Assert.Equal(count, await HubRecordCountAsync(records.Select(r => r.RecordId)));
        Assert.Equal(count + updated.Count, await HubVersionCountAsync(records.Select(r => r.RecordId)));
        var hub = network.Hub.Services.GetRequiredService<RegistryStore>();
        foreach (var id in updated)
        {
            Assert.Equal([1L, 2L], (await hub.VersionsAsync(id, Ct)).Select(v => v.Version));
        }
        var database = spoke.Services.GetRequiredService<RareCancerNetwork.Spoke.Store.SpokeDatabase>();
        async Task<(long Answered, long Fewest, long Most)> AnswersAsync()
        {
            await using var connection = await database.OpenAsync(Ct);
            await using var attempts = connection.Command(
                "SELECT COUNT(*), COALESCE(MIN(attempts), 0), COALESCE(MAX(attempts), 0) FROM outbox WHERE kind = 'deliver_registry_record' AND delivered_at IS NOT NULL");
            await using var reader = await attempts.ExecuteReaderAsync(Ct);
            await reader.ReadAsync(Ct);
            return (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
        }
        // None sent twice: each version was answered once (a second answer would count a second attempt), and none in conflict.
        Assert.Equal((count + updated.Count, 1L, 1L), await Eventually.UntilAsync(AnswersAsync, a => a.Answered == count + updated.Count, "every answer recorded"));
        await using var connection = await database.OpenAsync(Ct);
        await using var synchronised = connection.Command($"SELECT COUNT(*) FROM registry_records WHERE sync_state = {(int)RegistrySyncState.Synchronised}");
        Assert.Equal(count, await synchronised.ScalarInt64Async(Ct));
    }

    /// <summary>
    /// A partition in the middle of a sync, of the silent kind (bytes stop, nothing is closed): the spoke notices it
    /// (keepalive and deadlines), shows it in its status while it lasts, and once it heals every record reaches the hub
    /// exactly once.
    /// </summary>
    [Fact]
    public async Task ASilentPartitionDuringASync_IsShownWhileItLasts_AndEveryRecordArrivesOnceAfterHealing()
    {
        const int count = 1_200;
        using var folder = new TempFolder("rcn-registry-partition");
        await using var link = new TcpRelay(network.Hub.Port);
        var (spoke, client) = await OutageSpokeAsync(link, folder, "spoke-partition", new Dictionary<string, string?> { ["Spoke:Delivery:StatusReportSeconds"] = "1" });
        await using var _ = spoke;
        var contact = spoke.Services.GetRequiredService<RareCancerNetwork.Spoke.Outbox.HubContactStore>();
        await Eventually.UntilAsync(() => contact.ReadAsync(Ct), c => c.LastContactAt is not null && !c.Failing, "contact before the partition");

        var records = Enumerable.Range(0, count).Select(i => RegistrySamples.Record("CORE-010")).ToList();
        var chunks = records.Select((record, i) => new ImportedRecord { LocalPatientId = $"PARTITION-{i:D4}", Record = record }).Chunk(500).ToList();
        async Task ImportAsync(ImportedRecord[] chunk)
        {
            var import = new ImportRegistryRecordsRequest();
            import.Records.AddRange(chunk);
            await client.ImportRegistryRecordsAsync(import, cancellationToken: Ct);
        }
        // Cut while the sync is under way: the first batch on its way or delivered, the rest queued behind the partition.
        await ImportAsync(chunks[0]);
        await Eventually.UntilAsync(() => HubRecordCountAsync(records.Select(r => r.RecordId)), n => n > 0, "the sync under way", TimeSpan.FromSeconds(60));
        link.Stall();
        foreach (var chunk in chunks.Skip(1))
        {
            await ImportAsync(chunk);
        }
        var during = await Eventually.UntilAsync(() => contact.ReadAsync(Ct), c => c.Failing, "the partition in the spoke's status", TimeSpan.FromSeconds(60));
        Assert.NotNull(during.LastFailure);
        var held = await HubRecordCountAsync(records.Select(r => r.RecordId));
        Assert.True(held < count, "the partition came too late to matter");

        link.Heal();
        await Eventually.UntilAsync(() => HubRecordCountAsync(records.Select(r => r.RecordId)), n => n == count, "every record at the hub after healing", TimeSpan.FromSeconds(120));
        await Eventually.UntilAsync(() => contact.ReadAsync(Ct), c => !c.Failing, "contact again in the spoke's status", TimeSpan.FromSeconds(60));
        var versions = await network.Hub.Services.GetRequiredService<RegistryStore>().VersionsAsync(records[^1].RecordId, Ct);
        Assert.Single(versions);
        Assert.Equal(count, await HubVersionCountAsync(records.Select(r => r.RecordId)));
    }

    /// <summary>A version the hub keeps failing on (a storage fault) is isolated: the rest of its batch arrives, it alone waits and is parked.</summary>
    [Fact]
    public async Task AFaultyVersionInABacklog_DoesNotHoldBackItsBatch()
    {
        using var folder = new TempFolder("rcn-registry-poison");
        await using var link = new TcpRelay(network.Hub.Port);
        var (spoke, client) = await OutageSpokeAsync(link, folder, "spoke-poison");
        await using var _ = spoke;
        link.Route();
        link.DropConnections();
        var records = Enumerable.Range(0, 30).Select(i => RegistrySamples.Record("CORE-010")).ToList();
        foreach (var (record, i) in records.Select((record, i) => (record, i)))
        {
            await client.CreateRegistryRecordAsync(new() { LocalPatientId = $"POISON-{i:D3}", Record = record }, cancellationToken: Ct);
        }
        var poison = records[17];
        await network.Hub.PoisonInsertAsync("registry_records", "record_id", poison.RecordId);
        link.Route(network.Hub.Port);

        await Eventually.UntilAsync(async () => (await client.ListRegistryRecordsAsync(new() { PageSize = 200 }, cancellationToken: Ct)).Records,
            listed => listed.Count(r => r.SyncState == RegistrySyncState.Synchronised) == 29, "every record but the faulty one synchronised");
        Assert.Null(await AtHubAsync(poison.RecordId));
        Assert.Equal(RegistrySyncState.Pending, (await client.GetRegistryRecordAsync(new() { RecordId = poison.RecordId }, cancellationToken: Ct)).Record.SyncState);
        await Eventually.UntilAsync(() => spoke.Services.GetRequiredService<RareCancerNetwork.Spoke.Outbox.OutboxStore>().StatusAsync(Ct),
            status => status.Parked.Any(p => p.AggregateId == poison.RecordId), "the faulty version parked for an operator");
        // The record itself says so, with the hub's last answer, until an operator sends it again.
        var parked = (await client.GetRegistryRecordAsync(new() { RecordId = poison.RecordId }, cancellationToken: Ct)).Record;
        Assert.Equal(RegistrySyncState.Parked, parked.SyncState);
        Assert.False(string.IsNullOrEmpty(parked.SyncError));
        await spoke.Services.GetRequiredService<RareCancerNetwork.Spoke.Outbox.OutboxStore>().ResendParkedAsync(null, Ct);
        Assert.NotEqual(RegistrySyncState.Parked, (await client.GetRegistryRecordAsync(new() { RecordId = poison.RecordId }, cancellationToken: Ct)).Record.SyncState);
    }

    /// <summary>A spoke of its own that reaches the hub through <paramref name="link"/>, holding the hub's keys, with a client of its facility.</summary>
    private async Task<(SpokeNode Spoke, LocalRegistryService.LocalRegistryServiceClient Client)> OutageSpokeAsync(TcpRelay link, TempFolder folder, string nodeId,
        IDictionary<string, string?>? extra = null)
    {
        var (spoke, client, _) = await OutageSpokeWithNodeAsync(link, folder, nodeId, extra);
        return (spoke, client);
    }

    /// <returns>Also the node's registration, to start the spoke again on its folder.</returns>
    private async Task<(SpokeNode Spoke, LocalRegistryService.LocalRegistryServiceClient Client, RegisteredNode Node)> OutageSpokeWithNodeAsync(TcpRelay link,
        TempFolder folder, string nodeId, IDictionary<string, string?>? extra = null)
    {
        var hub = network.Hub;
        var node = await hub.RegisterSpokeAsync(nodeId, "CORE-010", folder.Sub("spoke"));
        var local = await hub.RegisterLocalClientAsync(nodeId, "bulk-load");
        var spoke = await SpokeNode.StartAsync(folder.Sub("spoke"), link.Url, hub.CaPath, nodeId, "CORE-010", node, extra: extra);
        var client = new LocalRegistryService.LocalRegistryServiceClient(Clients.Channel(spoke.Url, spoke.CaPath,
            await Clients.TokenAsync(link.Url, hub.CaPath, local, RareCancerNetwork.Node.Authorization.NetworkClaims.Scopes.Local)));
        await Eventually.UntilAsync(async () =>
        {
            try
            {
                await client.ListRegistryRecordsAsync(new(), cancellationToken: Ct);
                return true;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable)
            {
                return false;
            }
        }, reached => reached, "the spoke has the hub's keys");
        return (spoke, client, node);
    }

    [Fact]
    public async Task InvalidRecord_IsRefusedAtTheSpoke_WithFieldPaths_AndNothingStored()
    {
        var record = RegistrySamples.Record(TestNetwork.FacilityA);
        record.Biomarkers[2].Gene = "HER2";
        record.Diagnosis.TopographyCode = "C99.9";
        var failure = await RpcAssert.FailsAsync(StatusCode.InvalidArgument,
            () => Registry().CreateRegistryRecordAsync(new() { LocalPatientId = "REG-BAD", Record = record }, cancellationToken: Ct).ResponseAsync);
        Assert.Contains("record.biomarkers[2].gene", failure.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("HER2 is an alias of ERBB2", failure.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("record.diagnosis.topography_code", failure.Status.Detail, StringComparison.Ordinal);
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => Registry().GetRegistryRecordAsync(new() { RecordId = record.RecordId }, cancellationToken: Ct).ResponseAsync);

        // An import naming another patient's record id is refused for that row, not taken as already imported.
        var held = await CreateSynchronisedAsync("REG-HELD");
        var collision = RegistrySamples.Record(TestNetwork.FacilityA, recordId: held.RecordId);
        var imported = Assert.Single((await Registry().ImportRegistryRecordsAsync(
            new() { Records = { new ImportedRecord { LocalPatientId = "REG-OTHER-PATIENT", Record = collision } } }, cancellationToken: Ct)).Results);
        Assert.Equal(ImportOutcome.Invalid, imported.Outcome);
        Assert.Equal("record_id", Assert.Single(imported.Problems).Field);
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument,
            () => Registry().CreateRegistryRecordAsync(new() { LocalPatientId = "REG-BAD", Record = new RegistryRecord { RecordId = "x", Version = 2 } }, cancellationToken: Ct).ResponseAsync);
    }

    [Fact]
    public async Task Withdrawal_DeletesTheRecordHereAndAtTheHub_WhichKeepsOnlyTheTombstone()
    {
        var record = await CreateSynchronisedAsync("REG-WITHDRAW");
        var update = record.Clone();
        update.Version = 2;
        update.Ecog = 3;
        await Registry().UpdateRegistryRecordAsync(new() { Record = update }, cancellationToken: Ct);
        var withdrawn = await Registry().WithdrawRegistryConsentAsync(new() { RecordId = record.RecordId, WithdrawnOn = "2026-02-10" }, cancellationToken: Ct);
        Assert.Equal("local-spoke-a-pathology", withdrawn.RecordedBy);
        // A repeat is answered with the same tombstone.
        Assert.Equal(withdrawn, await Registry().WithdrawRegistryConsentAsync(new() { RecordId = record.RecordId, WithdrawnOn = "2026-02-11" }, cancellationToken: Ct));

        var gone = await RpcAssert.FailsAsync(StatusCode.NotFound,
            () => Registry().GetRegistryRecordAsync(new() { RecordId = record.RecordId }, cancellationToken: Ct).ResponseAsync);
        Assert.Contains("consent was withdrawn on 2026-02-10", gone.Status.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain((await Registry().ListRegistryRecordsAsync(new() { PageSize = 200 }, cancellationToken: Ct)).Records, r => r.Record.RecordId == record.RecordId);
        Assert.Equal(0, await SpokeCountAsync("SELECT COUNT(*) FROM registry_record_versions WHERE record_id = $id", record.RecordId));
        Assert.Equal(0, await SpokeCountAsync("SELECT COUNT(*) FROM outbox WHERE aggregate_id = $id AND kind = 'deliver_registry_record' AND length(payload) > 0", record.RecordId));

        await Eventually.UntilAsync(() => AtHubAsync(record.RecordId), atHub => atHub is null, "the record deleted at the hub");
        // Out of every export: the spoke's and the national one.
        var spokeExport = await Registry().ExportRegistryRecordsAsync(new() { PageSize = 200 }, cancellationToken: Ct);
        Assert.DoesNotContain(record.RecordId, spokeExport.FhirBundleJson.ToStringUtf8(), StringComparison.Ordinal);
        var (nationalPage, _) = await network.Hub.Services.GetRequiredService<RegistryStore>().SecondaryUsePageAsync(200, "", Ct);
        Assert.DoesNotContain(nationalPage, r => r.RecordId == record.RecordId);
        Assert.Empty(await network.Hub.Services.GetRequiredService<RegistryStore>().VersionsAsync(record.RecordId, Ct));
        await using var connection = await network.Hub.Services.GetRequiredService<HubDatabase>().OpenAsync(Ct);
        await using var tombstone = connection.Command("SELECT patient_pseudonym, withdrawn_on, recorded_by FROM registry_withdrawals WHERE record_id = @id")
            .With("@id", record.RecordId);
        await using var reader = await tombstone.ExecuteReaderAsync(Ct);
        Assert.True(await reader.ReadAsync(Ct));
        Assert.Equal((record.PatientPseudonym, "2026-02-10", "local-spoke-a-pathology"), (reader.GetString(0), reader.GetString(1), reader.GetString(2)));
    }

    [Fact]
    public async Task Exports_AreFhirBundles_TheNationalOneHoldsOnlySecondaryUseConsent()
    {
        var shared = await CreateSynchronisedAsync("REG-EXPORT-SHARED");
        var notShared = RegistrySamples.Record(TestNetwork.FacilityA);
        notShared.Consent.SecondaryUse = false;
        await Registry().CreateRegistryRecordAsync(new() { LocalPatientId = "REG-EXPORT-PRIVATE", Record = notShared }, cancellationToken: Ct);
        await AwaitStateAsync(notShared.RecordId, RegistrySyncState.Synchronised);

        // The spoke exports its facility's records, page by page.
        var atSpoke = new List<string>();
        var token = "";
        do
        {
            var page = await Registry().ExportRegistryRecordsAsync(new() { PageSize = 50, PageToken = token }, cancellationToken: Ct);
            var bundle = new FhirJsonDeserializer().Deserialize<Hl7.Fhir.Model.Bundle>(page.FhirBundleJson.ToStringUtf8());
            atSpoke.AddRange(bundle.Entry.Select(e => e.Resource).OfType<Hl7.Fhir.Model.Condition>().SelectMany(c => c.Identifier).Select(i => i.Value!));
            Assert.Equal(page.RecordCount, bundle.Entry.Select(e => e.Resource).OfType<Hl7.Fhir.Model.Patient>().Count());
            token = page.NextPageToken;
        }
        while (token.Length > 0);
        Assert.Contains(shared.RecordId, atSpoke);
        Assert.Contains(notShared.RecordId, atSpoke);
        Assert.Equal(atSpoke.Count, atSpoke.Distinct().Count());

        // The hub exports for administrators only what may be used secondarily; the call is audited.
        var adminId = $"admin-{Guid.CreateVersion7():N}"[..20];
        var admin = await People.AddAndSignInAsync(network.Hub, Path.GetTempPath(), adminId, RareCancerNetwork.Node.Authorization.NetworkClaims.Roles.Administrator, "CORE-004");
        var administration = new RegistryAdministrationService.RegistryAdministrationServiceClient(Clients.Channel(network.Hub.Url, network.Hub.CaPath, admin));
        var (sharedSeen, notSharedSeen, localIdSeen) = (false, false, false);
        token = "";
        do
        {
            var page = await administration.ExportNationalRegistryAsync(new() { PageSize = 200, PageToken = token }, cancellationToken: Ct);
            var json = page.FhirBundleJson.ToStringUtf8();
            sharedSeen |= json.Contains(shared.RecordId, StringComparison.Ordinal);
            notSharedSeen |= json.Contains(notShared.RecordId, StringComparison.Ordinal);
            localIdSeen |= json.Contains("REG-EXPORT", StringComparison.Ordinal);
            token = page.NextPageToken;
        }
        while (token.Length > 0);
        Assert.True(sharedSeen);
        Assert.False(notSharedSeen);
        Assert.False(localIdSeen);
        var audited = await network.Hub.Services.GetRequiredService<RareCancerNetwork.Node.Audit.AuditLog>().ReadAsync(0, 100_000, Ct);
        Assert.Contains(audited, e => e.Event.EndsWith("/ExportNationalRegistry", StringComparison.Ordinal) && e.UserId == adminId && e.Action == "R");
    }

    private async Task<long> SpokeCountAsync(string sql, string recordId)
    {
        await using var connection = await network.SpokeA.Services.GetRequiredService<RareCancerNetwork.Spoke.Store.SpokeDatabase>().OpenAsync(Ct);
        await using var command = connection.Command(sql).With("$id", recordId);
        return await command.ScalarInt64Async(Ct);
    }

    private async Task<RegistryRecord> CreateSynchronisedAsync(string localPatientId)
    {
        var record = RegistrySamples.Record(TestNetwork.FacilityA);
        await Registry().CreateRegistryRecordAsync(new() { LocalPatientId = localPatientId, Record = record }, cancellationToken: Ct);
        return (await AwaitStateAsync(record.RecordId, RegistrySyncState.Synchronised)).Record;
    }

    private Task<long> SpokeOutboxCountAsync(string recordId) => SpokeCountAsync("SELECT COUNT(*) FROM outbox WHERE aggregate_id = $id", recordId);

    /// <summary>Registry delivery calls the hub has audited from a node's client.</summary>
    private async Task<long> HubCallsAsync(string clientId)
    {
        await using var connection = await network.Hub.Services.GetRequiredService<HubDatabase>().OpenAsync(Ct);
        await using var command = connection.Command("SELECT COUNT(*) FROM audit_log WHERE event LIKE '%DeliverRegistryRecords' AND user_id = @client")
            .With("@client", clientId);
        return await command.ScalarInt64Async(Ct);
    }

    private Task<long> HubRecordCountAsync(IEnumerable<string> recordIds) => network.Hub.CountAsync("registry_records", "record_id", recordIds.ToList());

    private Task<long> HubVersionCountAsync(IEnumerable<string> recordIds) => network.Hub.CountAsync("registry_record_versions", "record_id", recordIds.ToList());
}
