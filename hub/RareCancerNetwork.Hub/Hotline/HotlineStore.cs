using System.Data.Common;
using System.Security.Cryptography;
using Google.Protobuf;
using RareCancerNetwork.Hub.Statistics;
using RareCancerNetwork.Hub.Storage;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Node.Hotline;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Hub.Hotline;

/// <summary>
/// Hotline calls at the hub: those the spokes deliver (counted, never shown to anyone as records) and those the central
/// institution's counsellors record here (searched by them alone). A delivery is applied once per call and revision, by the
/// database's constraints, so two hub instances receiving the same one store it once.
/// </summary>
public sealed class HotlineStore(HubDatabase database, TimeProvider clock)
{
    /// <summary>A call a spoke delivered (its notes and description already left behind at the centre).</summary>
    public Task<(int StoredRevision, bool Duplicate)> DeliverAsync(string nodeId, HotlineCall call, CancellationToken cancellationToken) =>
        database.WriteAsync<(int, bool)>(async (connection, transaction) =>
        {
            if (await InsertAsync(connection, transaction, call, nodeId, null, cancellationToken))
            {
                return (call.Revision, false);
            }
            var (storedRevision, storedNode) = await RevisionAsync(connection, transaction, call.CallId, cancellationToken);
            if (storedNode != nodeId)
            {
                throw new AccessDeniedException($"Hotline call {call.CallId} was delivered by another node; a node delivers only its own centre's calls.");
            }
            if (storedRevision >= call.Revision)
            {
                return (storedRevision, true);
            }
            await UpdateAsync(connection, transaction, call, cancellationToken);
            return (call.Revision, false);
        }, cancellationToken);

    /// <summary>A call taken by the central institution's counsellor, recorded at the hub. Idempotent per call id.</summary>
    public async Task<(HotlineCall Call, bool Duplicate)> RecordAsync(string centreFacilityCode, string recordedBy, RecordHotlineCallRequest request,
        CancellationToken cancellationToken)
    {
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(request.ToByteArray()));
        return await database.WriteAsync<(HotlineCall, bool)>(async (connection, transaction) =>
        {
            await RequireFacilityAsync(connection, transaction, centreFacilityCode, cancellationToken);
            await RequireReferralAsync(connection, transaction, request.Entry.ReferralId, cancellationToken);
            var call = HotlineCalls.Create(request.CallId, centreFacilityCode, recordedBy, request.Entry, clock.GetUtcNow());
            if (await InsertAsync(connection, transaction, call, null, sha256, cancellationToken))
            {
                return (call, false);
            }
            await using var existing = connection.Command("SELECT request_sha256, call FROM hotline_calls WHERE call_id = @id", transaction).With("@id", request.CallId);
            await using var reader = await existing.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            return reader.GetNullableString(0) == sha256
                ? (HotlineCall.Parser.ParseFrom((byte[])reader[1]), true)
                : throw new ConflictException($"Hotline call {request.CallId} was recorded with other content; amend it, or record a new call with a new call_id.");
        }, cancellationToken);
    }

    /// <summary>Amends a call of the caller's centre recorded at the hub; refused when it has moved on from the revision read.</summary>
    public Task<HotlineCall> AmendAsync(string centreFacilityCode, AmendHotlineCallRequest request, CancellationToken cancellationToken) =>
        database.WriteAsync(async (connection, transaction) =>
        {
            var current = await ReadOwnAsync(connection, transaction, centreFacilityCode, request.CallId, cancellationToken);
            if (current.Revision != request.ExpectedRevision)
            {
                throw new PreconditionFailedException("REVISION_CHANGED",
                    $"Hotline call {request.CallId} is at revision {current.Revision}, not {request.ExpectedRevision}: someone amended it meanwhile; read it again and amend that.");
            }
            await RequireReferralAsync(connection, transaction, request.Entry.ReferralId, cancellationToken);
            var call = HotlineCalls.Amend(current, request.Entry, clock.GetUtcNow());
            await UpdateAsync(connection, transaction, call, cancellationToken);
            return call;
        }, cancellationToken);

    public async Task<HotlineCall> GetAsync(string centreFacilityCode, string callId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await ReadOwnAsync(connection, null, centreFacilityCode, callId, cancellationToken);
    }

    /// <summary>The caller's centre's calls recorded at the hub, newest first; every word must be in the notes or the description.</summary>
    public async Task<(IReadOnlyList<HotlineCall> Page, string NextPageToken)> SearchAsync(string centreFacilityCode, SearchHotlineCallsRequest query, int pageSize,
        CancellationToken cancellationToken)
    {
        var (afterStarted, afterId) = KeysetPageToken.Decode(query.PageToken);
        var words = HotlineCalls.SearchWords(query.Text);
        // The central hotline's own calls are thousands a year: a substring test per word over the centre's rows is enough, on either engine.
        var contains = database.Provider == HubStorageProvider.Postgres ? "strpos" : "instr";
        var conditions = new List<string>
        {
            "h.centre_facility_code = @centre",
            "h.node_id IS NULL",
            "(@from IS NULL OR h.started_at >= @from)",
            "(@to IS NULL OR h.started_at < @to)",
            "(@topic = 0 OR EXISTS (SELECT 1 FROM hotline_call_topics t WHERE t.call_id = h.call_id AND t.topic = @topic))",
            "(@afterStarted IS NULL OR h.started_at < @afterStarted OR (h.started_at = @afterStarted AND h.call_id < @afterId))",
        };
        for (var i = 0; i < words.Count; i++)
        {
            conditions.Add($"({contains}(lower(h.notes), lower(@word{i})) > 0 OR {contains}(lower(h.cancer_description), lower(@word{i})) > 0)");
        }
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            $"SELECT h.call, h.started_at, h.call_id FROM hotline_calls h WHERE {string.Join(" AND ", conditions)} ORDER BY h.started_at DESC, h.call_id DESC LIMIT @limit")
            .With("@centre", centreFacilityCode).With("@from", HotlineCalls.DateBound(query.FromDate, end: false))
            .With("@to", HotlineCalls.DateBound(query.ToDate, end: true)).With("@topic", (int)query.Topic)
            .With("@afterStarted", afterStarted).With("@afterId", afterId).With("@limit", pageSize + 1);
        for (var i = 0; i < words.Count; i++)
        {
            command.With($"@word{i}", words[i]);
        }
        var rows = new List<(HotlineCall Item, string SortKey, string Id)>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                rows.Add((HotlineCall.Parser.ParseFrom((byte[])reader[0]), reader.GetString(1), reader.GetString(2)));
            }
        }
        return KeysetPage.Split(rows, pageSize);
    }

    /// <summary>A call of the caller's centre recorded at the hub; another centre's (or one a spoke delivered) is refused, as an unassigned case is to an expert.</summary>
    private static async Task<HotlineCall> ReadOwnAsync(DbConnection connection, DbTransaction? transaction, string centreFacilityCode, string callId,
        CancellationToken cancellationToken)
    {
        await using var command = connection.Command("SELECT call, centre_facility_code, node_id FROM hotline_calls WHERE call_id = @id", transaction).With("@id", callId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            throw new ResourceNotFoundException("Hotline call", callId);
        }
        return reader.GetString(1) == centreFacilityCode && reader.IsDBNull(2)
            ? HotlineCall.Parser.ParseFrom((byte[])reader[0])
            : throw new AccessDeniedException($"Hotline call {callId} belongs to another centre; a counsellor sees only the calls of their own centre.");
    }

    /// <summary>Inserts the call unless its id is there already (then false: the caller decides what that means).</summary>
    private async Task<bool> InsertAsync(DbConnection connection, DbTransaction transaction, HotlineCall call, string? nodeId, string? requestSha256,
        CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().ToDbText();
        await using (var insert = connection.Command(
            """
            INSERT INTO hotline_calls (call_id, centre_facility_code, node_id, revision, call, started_at, started_month, patient_prefecture, cancer_category,
                facility_suggested, referral_made, second_opinion, notes, cancer_description, request_sha256, received_at, updated_at)
            VALUES (@id, @centre, @node, @revision, @call, @started, @month, @prefecture, @category, @suggested, @referred, @second, @notes, @description, @sha,
                @now, @now)
            ON CONFLICT (call_id) DO NOTHING
            """, transaction)
            .With("@id", call.CallId).With("@centre", call.CentreFacilityCode).With("@node", nodeId).With("@sha", requestSha256).With("@now", now))
        {
            Columns(insert, call);
            if (await insert.ExecuteNonQueryAsync(cancellationToken) == 0)
            {
                return false;
            }
        }
        await SaveTopicsAsync(connection, transaction, call, cancellationToken);
        return true;
    }

    private async Task UpdateAsync(DbConnection connection, DbTransaction transaction, HotlineCall call, CancellationToken cancellationToken)
    {
        await using (var update = connection.Command(
            """
            UPDATE hotline_calls SET revision = @revision, call = @call, started_at = @started, started_month = @month, patient_prefecture = @prefecture,
                cancer_category = @category, facility_suggested = @suggested, referral_made = @referred, second_opinion = @second, notes = @notes,
                cancer_description = @description, updated_at = @now
            WHERE call_id = @id AND revision < @revision
            """, transaction)
            .With("@id", call.CallId).With("@now", clock.GetUtcNow().ToDbText()))
        {
            Columns(update, call);
            await update.ExecuteNonQueryAsync(cancellationToken);
        }
        await using (var delete = connection.Command("DELETE FROM hotline_call_topics WHERE call_id = @id", transaction).With("@id", call.CallId))
        {
            await delete.ExecuteNonQueryAsync(cancellationToken);
        }
        await SaveTopicsAsync(connection, transaction, call, cancellationToken);
    }

    private static void Columns(DbCommand command, HotlineCall call) => command
        .With("@revision", call.Revision).With("@call", call.ToByteArray())
        .With("@started", call.StartedAt.ToDateTimeOffset().ToDbText()).With("@month", StatisticsStore.JapanMonth(call.StartedAt.ToDateTimeOffset()))
        .With("@prefecture", call.PatientPrefecture).With("@category", (int)call.CancerCategory)
        .With("@suggested", call.Outcomes.Contains(HotlineOutcome.FacilitySuggested) ? 1 : 0)
        .With("@referred", call.Outcomes.Contains(HotlineOutcome.ReferralMade) ? 1 : 0)
        .With("@second", call.Outcomes.Contains(HotlineOutcome.SecondOpinionArranged) ? 1 : 0)
        .With("@notes", call.Notes).With("@description", call.CancerDescription);

    private static async Task SaveTopicsAsync(DbConnection connection, DbTransaction transaction, HotlineCall call, CancellationToken cancellationToken)
    {
        foreach (var topic in call.Topics)
        {
            await using var insert = connection.Command("INSERT INTO hotline_call_topics (call_id, topic) VALUES (@id, @topic)", transaction)
                .With("@id", call.CallId).With("@topic", (int)topic);
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    private static async Task<(int Revision, string? NodeId)> RevisionAsync(DbConnection connection, DbTransaction transaction, string callId, CancellationToken cancellationToken)
    {
        await using var command = connection.Command("SELECT revision, node_id FROM hotline_calls WHERE call_id = @id", transaction).With("@id", callId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (reader.GetInt32(0), reader.GetNullableString(1));
    }

    private static async Task RequireFacilityAsync(DbConnection connection, DbTransaction transaction, string facilityCode, CancellationToken cancellationToken)
    {
        await using var command = connection.Command("SELECT 1 FROM facilities WHERE facility_code = @code", transaction).With("@code", facilityCode);
        if (await command.ExecuteScalarAsync(cancellationToken) is null)
        {
            throw new PreconditionFailedException("CENTRE_NOT_IN_DIRECTORY",
                $"Your account's facility {facilityCode} is not in the directory; an administrator must add it before its hotline calls can be recorded.");
        }
    }

    private static async Task RequireReferralAsync(DbConnection connection, DbTransaction transaction, string referralId, CancellationToken cancellationToken)
    {
        if (referralId.Length == 0)
        {
            return;
        }
        await using var command = connection.Command("SELECT 1 FROM referrals WHERE referral_id = @id", transaction).With("@id", referralId);
        if (await command.ExecuteScalarAsync(cancellationToken) is null)
        {
            throw new InvalidFieldsException([new FieldViolation("entry.referral_id", $"no referral {referralId} is known to the hub")]);
        }
    }
}
