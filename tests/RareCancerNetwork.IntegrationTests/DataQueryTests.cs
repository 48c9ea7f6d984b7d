using Google.Protobuf;
using Grpc.Core;
using RareCancerNetwork.IntegrationTests.Infrastructure;
using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Protos.V1;
using RareCancerNetwork.Tests.Shared;

namespace RareCancerNetwork.IntegrationTests;

/// <summary>
/// Data queries across the network: a registry data manager at the hub raises one on a record's field, the
/// facility sees it at its spoke, answers it (the value is correct, or an update), and it is closed at both ends.
/// </summary>
[Collection(NetworkCollection.Name)]
public sealed class DataQueryTests(TestNetwork network)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<RegistryDataManagementService.RegistryDataManagementServiceClient> DataManagerAsync()
    {
        var token = await People.AddAndSignInAsync(network.Hub, Path.GetTempPath(), $"dm-{Guid.CreateVersion7():N}"[..20], NetworkClaims.Roles.RegistryDataManager, "CORE-004");
        return new RegistryDataManagementService.RegistryDataManagementServiceClient(network.HubChannel(token));
    }

    private async Task<RegistryRecord> EnrolAsync(string localPatientId)
    {
        var record = RegistrySamples.Record(TestNetwork.FacilityA);
        await network.RegistryA().CreateRegistryRecordAsync(new() { LocalPatientId = localPatientId, Record = record }, cancellationToken: Ct);
        return (await Eventually.UntilAsync(async () => (await network.RegistryA().GetRegistryRecordAsync(new() { RecordId = record.RecordId }, cancellationToken: Ct)).Record,
            r => r.SyncState == RegistrySyncState.Synchronised, "the record at the hub")).Record;
    }

    private Task<LocalDataQuery> AtSpokeAsync(string queryId, Func<LocalDataQuery, bool> until, string what) =>
        Eventually.UntilAsync(async () => (await network.RegistryA().ListLocalDataQueriesAsync(new() { PageSize = 200 }, cancellationToken: Ct)).Queries
            .FirstOrDefault(q => q.Query.QueryId == queryId) ?? new LocalDataQuery { Query = new DataQuery() }, until, what);

    private static RaiseDataQueryRequest Raise(string recordId, string field, string question) =>
        new() { QueryId = Guid.CreateVersion7().ToString(), RecordId = recordId, Field = field, Question = question };

    private static long OpenAt(CountOpenDataQueriesResponse counts, string facility) =>
        counts.Facilities.FirstOrDefault(f => f.FacilityCode == facility)?.OpenQueries ?? 0;

    [Fact]
    public async Task Query_RaisedAtTheHub_SeenAtTheSpoke_Answered_ClosedAtBothEnds()
    {
        var dataManager = await DataManagerAsync();
        var record = await EnrolAsync("DQ-0001");

        // The data manager reads the national record: pseudonymised, never the facility's own patient id.
        var listed = new List<RegistryRecord>();
        var token = "";
        do
        {
            var page = await dataManager.ListNationalRegistryRecordsAsync(new() { FacilityCode = TestNetwork.FacilityA, PageSize = 200, PageToken = token }, cancellationToken: Ct);
            listed.AddRange(page.Records);
            Assert.DoesNotContain("DQ-0001", page.ToByteString().ToStringUtf8(), StringComparison.Ordinal);
            token = page.NextPageToken;
        }
        while (token.Length > 0);
        Assert.Contains(record, listed);
        Assert.All(listed, r => Assert.Equal(TestNetwork.FacilityA, r.EnrollingFacilityCode));
        var before = OpenAt(await dataManager.CountOpenDataQueriesAsync(new(), cancellationToken: Ct), TestNetwork.FacilityA);

        // Raised at the hub, listed at the spoke for the facility's users, with their own patient id.
        var confirmed = (await dataManager.RaiseDataQueryAsync(Raise(record.RecordId, "follow_up.progression_date", "進行日が治療終了日より前です。ご確認ください"), cancellationToken: Ct)).Query;
        var updated = (await dataManager.RaiseDataQueryAsync(Raise(record.RecordId, "ecog", "ECOG PS を再評価してください"), cancellationToken: Ct)).Query;
        Assert.Equal(DataQueryState.Open, confirmed.State);
        Assert.Equal(before + 2, OpenAt(await dataManager.CountOpenDataQueriesAsync(new(), cancellationToken: Ct), TestNetwork.FacilityA));
        var seen = await AtSpokeAsync(confirmed.QueryId, q => q.Query.State == DataQueryState.Open, "the query at the spoke");
        Assert.Equal(("DQ-0001", "進行日が治療終了日より前です。ご確認ください", "follow_up.progression_date"), (seen.LocalPatientId, seen.Query.Question, seen.Query.Field));
        Assert.Equal(2, (await network.RegistryA().ListLocalDataQueriesAsync(new() { RecordId = record.RecordId, OpenOnly = true }, cancellationToken: Ct)).Queries.Count);

        // One answer: the value is correct. It waits in the outbox, reaches the hub, and the closing comes back.
        var answered = await network.RegistryA().ConfirmDataQueryValueAsync(new() { QueryId = confirmed.QueryId, Comment = "病理報告書で確認済み。正しい値です" }, cancellationToken: Ct);
        Assert.True(answered.Query.AnswerPending || answered.Query.Query.State == DataQueryState.Closed);
        var closed = await AtSpokeAsync(confirmed.QueryId, q => q.Query.State == DataQueryState.Closed, "the confirmation closed at the spoke");
        Assert.Equal((DataQueryResolution.Confirmed, "病理報告書で確認済み。正しい値です", false), (closed.Query.Resolution, closed.Query.AnswerComment, closed.AnswerPending));
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => network.RegistryA().ConfirmDataQueryValueAsync(
            new() { QueryId = confirmed.QueryId, Comment = "再送" }, cancellationToken: Ct).ResponseAsync);

        // The other answer: an update of the queried field.
        var current = (await network.RegistryA().GetRegistryRecordAsync(new() { RecordId = record.RecordId }, cancellationToken: Ct)).Record.Record.Clone();
        current.Version++;
        current.Ecog = 2;
        await network.RegistryA().UpdateRegistryRecordAsync(new() { Record = current }, cancellationToken: Ct);
        var byUpdate = await AtSpokeAsync(updated.QueryId, q => q.Query.State == DataQueryState.Closed, "the update closed the query at the spoke");
        Assert.Equal((DataQueryResolution.Updated, current.Version), (byUpdate.Query.Resolution, byUpdate.Query.AnsweredByVersion));

        var atHub = await dataManager.GetNationalRegistryRecordAsync(new() { RecordId = record.RecordId }, cancellationToken: Ct);
        Assert.Equal(2, atHub.Record.Ecog);
        Assert.All(atHub.Queries, q => Assert.Equal(DataQueryState.Closed, q.State));
        Assert.Equal([DataQueryResolution.Updated, DataQueryResolution.Confirmed], atHub.Queries.Select(q => q.Resolution));
        Assert.DoesNotContain("DQ-0001", atHub.ToByteString().ToStringUtf8(), StringComparison.Ordinal);
        Assert.Equal(before, OpenAt(await dataManager.CountOpenDataQueriesAsync(new(), cancellationToken: Ct), TestNetwork.FacilityA));
        var history = await dataManager.ListDataQueriesAsync(new() { RecordId = record.RecordId }, cancellationToken: Ct);
        Assert.Equal([updated.QueryId, confirmed.QueryId], history.Queries.Select(q => q.QueryId));
    }

    [Fact]
    public async Task Withdrawal_TakesTheRecordsQueriesWithIt_AtBothEnds()
    {
        var dataManager = await DataManagerAsync();
        var record = await EnrolAsync("DQ-WITHDRAW");
        var query = (await dataManager.RaiseDataQueryAsync(Raise(record.RecordId, "ecog", "ECOG を確認してください"), cancellationToken: Ct)).Query;
        await AtSpokeAsync(query.QueryId, q => q.Query.State == DataQueryState.Open, "the query at the spoke");
        // An answer still queued goes with the record too.
        await network.RegistryA().ConfirmDataQueryValueAsync(new() { QueryId = query.QueryId, Comment = "正しい値です" }, cancellationToken: Ct);

        await network.RegistryA().WithdrawRegistryConsentAsync(new() { RecordId = record.RecordId, WithdrawnOn = "2026-02-01" }, cancellationToken: Ct);

        Assert.Empty((await network.RegistryA().ListLocalDataQueriesAsync(new() { RecordId = record.RecordId }, cancellationToken: Ct)).Queries);
        await Eventually.UntilAsync(async () => (await dataManager.ListDataQueriesAsync(new() { RecordId = record.RecordId }, cancellationToken: Ct)).Queries.Count,
            count => count == 0, "the query gone from the hub");
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => dataManager.GetNationalRegistryRecordAsync(new() { RecordId = record.RecordId }, cancellationToken: Ct).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => dataManager.RaiseDataQueryAsync(Raise(record.RecordId, "ecog", "?"), cancellationToken: Ct).ResponseAsync);
    }

    [Fact]
    public async Task BadRequests_GetTheRightStatus_NamingTheField_AndChangeNothing()
    {
        var dataManager = await DataManagerAsync();
        var record = await EnrolAsync("DQ-BAD");
        var countBefore = (await dataManager.CountOpenDataQueriesAsync(new(), cancellationToken: Ct)).TotalOpenQueries;

        async Task InvalidAsync(string field, Func<Task> call) =>
            Assert.Contains(field, (await RpcAssert.FailsAsync(StatusCode.InvalidArgument, call)).Status.Detail, StringComparison.Ordinal);

        await InvalidAsync("field: the record's biomarkers has 3 entries", () => dataManager.RaiseDataQueryAsync(Raise(record.RecordId, "biomarkers[7].gene", "?"), cancellationToken: Ct).ResponseAsync);
        await InvalidAsync("field", () => dataManager.RaiseDataQueryAsync(Raise(record.RecordId, "", "?"), cancellationToken: Ct).ResponseAsync);
        await InvalidAsync("question", () => dataManager.RaiseDataQueryAsync(Raise(record.RecordId, "ecog", new string('問', 2_001)), cancellationToken: Ct).ResponseAsync);
        await InvalidAsync("query_id", () => dataManager.RaiseDataQueryAsync(new() { QueryId = "not-a-uuid", RecordId = record.RecordId, Field = "ecog", Question = "?" }, cancellationToken: Ct).ResponseAsync);
        await InvalidAsync("page_size", () => dataManager.ListNationalRegistryRecordsAsync(new() { PageSize = 201 }, cancellationToken: Ct).ResponseAsync);
        await InvalidAsync("page_token", () => dataManager.ListDataQueriesAsync(new() { PageToken = "nonsense" }, cancellationToken: Ct).ResponseAsync);
        await InvalidAsync("record_id", () => dataManager.GetNationalRegistryRecordAsync(new() { RecordId = "x" }, cancellationToken: Ct).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => dataManager.RaiseDataQueryAsync(Raise(Guid.CreateVersion7().ToString(), "ecog", "?"), cancellationToken: Ct).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => dataManager.CancelDataQueryAsync(new() { QueryId = Guid.CreateVersion7().ToString() }, cancellationToken: Ct).ResponseAsync);

        var query = (await dataManager.RaiseDataQueryAsync(Raise(record.RecordId, "ecog", "ECOG を確認してください"), cancellationToken: Ct)).Query;
        var other = Raise(record.RecordId, "diagnosis", "別の質問");
        other.QueryId = query.QueryId;
        await RpcAssert.FailsAsync(StatusCode.AlreadyExists, () => dataManager.RaiseDataQueryAsync(other, cancellationToken: Ct).ResponseAsync);
        await AtSpokeAsync(query.QueryId, q => q.Query.State == DataQueryState.Open, "the query at the spoke");
        await InvalidAsync("comment", () => network.RegistryA().ConfirmDataQueryValueAsync(new() { QueryId = query.QueryId, Comment = "" }, cancellationToken: Ct).ResponseAsync);
        await InvalidAsync("record_id", () => network.RegistryA().ListLocalDataQueriesAsync(new() { RecordId = "x" }, cancellationToken: Ct).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => network.RegistryA().ConfirmDataQueryValueAsync(
            new() { QueryId = Guid.CreateVersion7().ToString(), Comment = "?" }, cancellationToken: Ct).ResponseAsync);

        // A node answers only its own facility's queries; a bad answer names the field.
        var answer = new AnswerDataQueryRequest { QueryId = query.QueryId, Comment = "正しい値です", AnsweredBy = "someone" };
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => new RegistrySyncService.RegistrySyncServiceClient(network.HubChannel(network.NodeTokenB))
            .AnswerDataQueryAsync(answer, cancellationToken: Ct).ResponseAsync);
        await InvalidAsync("comment", () => new RegistrySyncService.RegistrySyncServiceClient(network.HubChannel(network.NodeTokenA))
            .AnswerDataQueryAsync(new() { QueryId = query.QueryId, Comment = "", AnsweredBy = "someone" }, cancellationToken: Ct).ResponseAsync);

        // Nothing changed: the one query raised is open, at the hub and at the spoke.
        Assert.Equal(countBefore + 1, (await dataManager.CountOpenDataQueriesAsync(new(), cancellationToken: Ct)).TotalOpenQueries);
        Assert.Equal(DataQueryState.Open, Assert.Single((await dataManager.GetNationalRegistryRecordAsync(new() { RecordId = record.RecordId }, cancellationToken: Ct)).Queries).State);
        var cancelled = await dataManager.CancelDataQueryAsync(new() { QueryId = query.QueryId }, cancellationToken: Ct);
        Assert.Equal(DataQueryResolution.Cancelled, cancelled.Query.Resolution);
        await AtSpokeAsync(query.QueryId, q => q.Query.Resolution == DataQueryResolution.Cancelled, "the withdrawal at the spoke");
    }

    [Fact]
    public async Task CommandLine_DataManager_ReadsRaisesFollowsAndCounts()
    {
        using var folder = new TempFolder("rcn-dm-cli");
        var userId = $"dm-{Guid.CreateVersion7():N}"[..20];
        await People.AddAndSignInAsync(network.Hub, folder.Path, userId, NetworkClaims.Roles.RegistryDataManager, "CORE-004");
        string[] session = ["--session", Path.Combine(folder.Path, userId + ".session.json")];
        var record = await EnrolAsync("DQ-CLI");

        var records = await NodeProcess.RunAsync(NodeProcess.HubProgram, ["registry", "records", "--facility", TestNetwork.FacilityA, .. session]);
        Assert.Contains(record.RecordId, records, StringComparison.Ordinal);
        var shown = JsonParser.Default.Parse<GetNationalRegistryRecordResponse>(await NodeProcess.RunAsync(NodeProcess.HubProgram, ["registry", "show", record.RecordId, .. session]));
        Assert.Equal(record, shown.Record);

        var raised = await NodeProcess.RunAsync(NodeProcess.HubProgram, ["registry", "raise", record.RecordId, "--field", "ecog", "--question", "ECOG が未評価です", .. session]);
        var queryId = System.Text.RegularExpressions.Regex.Match(raised, "Raised query ([0-9a-f-]{36})").Groups[1].Value;
        Assert.NotEmpty(queryId);
        var listed = await NodeProcess.RunAsync(NodeProcess.HubProgram, ["registry", "queries", "--record", record.RecordId, .. session]);
        Assert.Contains("ECOG が未評価です", listed, StringComparison.Ordinal);
        Assert.Contains(TestNetwork.FacilityA, await NodeProcess.RunAsync(NodeProcess.HubProgram, ["registry", "open-queries", .. session]), StringComparison.Ordinal);
        var (exit, refused) = await NodeProcess.RunForExitCodeAsync(NodeProcess.HubProgram, ["registry", "raise", record.RecordId, "--field", "biomarkers[9]", "--question", "?", .. session]);
        Assert.Equal(1, exit);
        Assert.Contains("InvalidArgument", refused, StringComparison.Ordinal);
        Assert.Contains("Withdrawn", await NodeProcess.RunAsync(NodeProcess.HubProgram, ["registry", "cancel", queryId, .. session]), StringComparison.Ordinal);
        Assert.Contains("closed: Cancelled", await NodeProcess.RunAsync(NodeProcess.HubProgram, ["registry", "queries", "--all", "--record", record.RecordId, .. session]),
            StringComparison.Ordinal);
    }
}
