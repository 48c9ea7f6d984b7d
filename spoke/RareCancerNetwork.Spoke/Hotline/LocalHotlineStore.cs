using System.Security.Cryptography;
using Google.Protobuf;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Node.Hotline;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Protos.V1;
using RareCancerNetwork.Spoke.Outbox;
using RareCancerNetwork.Spoke.Referrals;
using RareCancerNetwork.Spoke.Store;

namespace RareCancerNetwork.Spoke.Hotline;

/// <summary>
/// The centre's hotline calls. Each revision is stored with its outbox entry in one transaction; the entry carries the call
/// without its notes and the cancer as described (<see cref="HotlineCalls.ForHub"/>), and the caller's contact is never in it.
/// Searches run on the full-text index of the notes (trigram, so Japanese words are found without word breaks).
/// </summary>
public sealed class LocalHotlineStore(SpokeDatabase database, LocalReferralStore referrals, OutboxSignal outboxSignal, IOptions<SpokeOptions> options, TimeProvider clock)
{
    public const string DeliverKind = "deliver_hotline_call";

    public static string OrderingKey(string callId) => $"hotline:{callId}";

    // The delivery state of the latest revision, from the call's outbox entries (the kind term, as written, selects ix_outbox_hotline).
    private const string Columns =
        $"""
        h.call, h.callback_contact,
        EXISTS (SELECT 1 FROM outbox o WHERE o.ordering_key = 'hotline:' || h.call_id AND o.kind = '{DeliverKind}' AND o.parked_at IS NOT NULL
            AND o.delivered_at IS NULL AND o.failed_at IS NULL),
        EXISTS (SELECT 1 FROM outbox o WHERE o.ordering_key = 'hotline:' || h.call_id AND o.kind = '{DeliverKind}' AND o.delivered_at IS NULL AND o.failed_at IS NULL),
        (SELECT o.last_error FROM outbox o WHERE o.ordering_key = 'hotline:' || h.call_id AND o.kind = '{DeliverKind}' AND o.failed_at IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM outbox later WHERE later.ordering_key = o.ordering_key AND later.kind = '{DeliverKind}'
                AND later.outbox_id > o.outbox_id AND later.delivered_at IS NOT NULL)
            ORDER BY o.outbox_id DESC LIMIT 1),
        h.started_at, h.call_id
        """;

    public async Task<(LocalHotlineCall Call, bool Duplicate)> RecordAsync(string recordedBy, RecordLocalHotlineCallRequest request, CancellationToken cancellationToken)
    {
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(request.ToByteArray()));
        var result = await database.WriteAsync<(LocalHotlineCall, bool)>(async (connection, transaction) =>
        {
            await using (var existing = connection.Command("SELECT request_sha256 FROM hotline_calls WHERE call_id = $id", transaction).With("$id", request.CallId))
            {
                if (await existing.ExecuteScalarAsync(cancellationToken) is string stored)
                {
                    return stored == sha256
                        ? (await ReadAsync(connection, transaction, request.CallId, cancellationToken), true)
                        : throw new ConflictException($"Hotline call {request.CallId} was recorded with other content; amend it, or record a new call with a new call_id.");
                }
            }
            await RequireReferralSentHereAsync(connection, transaction, request.Entry, cancellationToken);
            var call = HotlineCalls.Create(request.CallId, options.Value.FacilityCode, recordedBy, request.Entry, clock.GetUtcNow());
            await using (var insert = connection.Command(
                """
                INSERT INTO hotline_calls (call_id, call, revision, started_at, notes, cancer_description, request_sha256, callback_contact, updated_at)
                VALUES ($id, $call, 1, $started, $notes, $description, $sha, $contact, $now)
                """, transaction)
                .With("$id", call.CallId).With("$call", call.ToByteArray()).With("$started", call.StartedAt.ToDateTimeOffset().ToDbText())
                .With("$notes", call.Notes).With("$description", call.CancerDescription).With("$sha", sha256)
                .With("$contact", request.CallbackContact?.ToByteArray()).With("$now", call.UpdatedAt.ToDateTimeOffset().ToDbText()))
            {
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }
            await SaveTopicsAndQueueAsync(connection, transaction, call, cancellationToken);
            return (await ReadAsync(connection, transaction, call.CallId, cancellationToken), false);
        }, cancellationToken);
        if (!result.Item2)
        {
            outboxSignal.Wake();
        }
        return result;
    }

    public async Task<LocalHotlineCall> AmendAsync(AmendLocalHotlineCallRequest request, CancellationToken cancellationToken)
    {
        var amended = await database.WriteAsync(async (connection, transaction) =>
        {
            await RequireReferralSentHereAsync(connection, transaction, request.Entry, cancellationToken);
            return await AmendInAsync(connection, transaction, request.CallId, request.ExpectedRevision, _ => request.Entry, request.CallbackContact,
                replaceContact: true, cancellationToken);
        }, cancellationToken);
        outboxSignal.Wake();
        return amended;
    }

    /// <summary>Refers the caller's patient to a facility and records the referral on the call, in one transaction.</summary>
    public async Task<(LocalHotlineCall Call, Referral Referral)> ReferAsync(string madeBy, ReferFromHotlineCallRequest request, CancellationToken cancellationToken)
    {
        var routes = await referrals.RoutesAsync(cancellationToken);
        var result = await database.WriteAsync<(LocalHotlineCall, Referral)>(async (connection, transaction) =>
        {
            var created = new CreateReferralRequest
            {
                ReferralId = request.ReferralId,
                Target = new ReferralTarget { FacilityCode = request.FacilityCode },
                LocalPatientId = request.LocalPatientId,
                Reason = request.Reason,
                Urgency = request.Urgency,
            };
            var (referral, _) = await referrals.CreateInAsync(connection, transaction, routes, madeBy, new NewReferral(created, null), cancellationToken);
            var call = await AmendInAsync(connection, transaction, request.CallId, request.ExpectedRevision, current =>
            {
                var entry = HotlineCalls.EntryOf(current);
                if (!entry.Outcomes.Contains(HotlineOutcome.ReferralMade))
                {
                    entry.Outcomes.Add(HotlineOutcome.ReferralMade);
                }
                entry.ReferralId = request.ReferralId;
                return entry;
            }, null, replaceContact: false, cancellationToken);
            return (call, referral.Referral);
        }, cancellationToken);
        outboxSignal.Wake();
        return result;
    }

    private async Task<LocalHotlineCall> AmendInAsync(SqliteConnection connection, SqliteTransaction transaction, string callId, int expectedRevision,
        Func<HotlineCall, HotlineCallEntry> entryOf, CallbackContact? contact, bool replaceContact, CancellationToken cancellationToken)
    {
        var current = (await ReadAsync(connection, transaction, callId, cancellationToken)).Call;
        if (current.Revision != expectedRevision)
        {
            throw new PreconditionFailedException("REVISION_CHANGED",
                $"Hotline call {callId} is at revision {current.Revision}, not {expectedRevision}: someone amended it meanwhile; read it again and amend that.");
        }
        var call = HotlineCalls.Amend(current, entryOf(current), clock.GetUtcNow());
        await using (var update = connection.Command(
            $"""
            UPDATE hotline_calls SET call = $call, revision = $revision, started_at = $started, notes = $notes, cancer_description = $description,
                updated_at = $now{(replaceContact ? ", callback_contact = $contact" : "")}
            WHERE call_id = $id
            """, transaction)
            .With("$call", call.ToByteArray()).With("$revision", call.Revision).With("$started", call.StartedAt.ToDateTimeOffset().ToDbText())
            .With("$notes", call.Notes).With("$description", call.CancerDescription).With("$now", call.UpdatedAt.ToDateTimeOffset().ToDbText())
            .With("$contact", contact?.ToByteArray()).With("$id", callId))
        {
            await update.ExecuteNonQueryAsync(cancellationToken);
        }
        await using (var topics = connection.Command("DELETE FROM hotline_call_topics WHERE call_id = $id", transaction).With("$id", callId))
        {
            await topics.ExecuteNonQueryAsync(cancellationToken);
        }
        await SaveTopicsAndQueueAsync(connection, transaction, call, cancellationToken);
        return await ReadAsync(connection, transaction, callId, cancellationToken);
    }

    private static async Task SaveTopicsAndQueueAsync(SqliteConnection connection, SqliteTransaction transaction, HotlineCall call, CancellationToken cancellationToken)
    {
        foreach (var topic in call.Topics)
        {
            await using var insert = connection.Command("INSERT INTO hotline_call_topics (call_id, topic) VALUES ($id, $topic)", transaction)
                .With("$id", call.CallId).With("$topic", (int)topic);
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }
        // What leaves the centre: never the notes, the cancer as described, or the contact to call back.
        await OutboxStore.EnqueueAsync(connection, transaction, DeliverKind, $"{call.CallId}#{call.Revision}", OrderingKey(call.CallId),
            new DeliverHotlineCallRequest { Call = HotlineCalls.ForHub(call) }.ToByteArray(), call.UpdatedAt.ToDateTimeOffset(), cancellationToken);
    }

    /// <summary>A call names only a referral its centre's facility sent.</summary>
    private static async Task RequireReferralSentHereAsync(SqliteConnection connection, SqliteTransaction transaction, HotlineCallEntry entry, CancellationToken cancellationToken)
    {
        if (entry.ReferralId.Length == 0)
        {
            return;
        }
        await using var command = connection.Command("SELECT sent_here FROM referrals WHERE referral_id = $id", transaction).With("$id", entry.ReferralId);
        if (await command.ExecuteScalarAsync(cancellationToken) is not long sentHere || sentHere == 0)
        {
            throw new InvalidFieldsException([new FieldViolation("entry.referral_id", $"no referral {entry.ReferralId} was sent from this facility")]);
        }
    }

    public async Task<LocalHotlineCall> GetAsync(string callId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await ReadAsync(connection, null, callId, cancellationToken);
    }

    /// <summary>Newest first. Words of three characters or more are looked up in the trigram index; shorter ones (肉腫) are matched as substrings.</summary>
    public async Task<(IReadOnlyList<LocalHotlineCall> Page, string NextPageToken)> SearchAsync(SearchHotlineCallsRequest query, int pageSize, CancellationToken cancellationToken)
    {
        var (afterStarted, afterId) = KeysetPageToken.Decode(query.PageToken);
        var words = HotlineCalls.SearchWords(query.Text);
        var conditions = new List<string>
        {
            "($from IS NULL OR h.started_at >= $from)",
            "($to IS NULL OR h.started_at < $to)",
            "($topic = 0 OR EXISTS (SELECT 1 FROM hotline_call_topics t WHERE t.topic = $topic AND t.call_id = h.call_id))",
            "($afterStarted IS NULL OR (h.started_at, h.call_id) < ($afterStarted, $afterId))",
        };
        var indexed = words.Where(w => w.Length >= 3).ToList();
        if (indexed.Count > 0)
        {
            conditions.Add("h.rowid IN (SELECT rowid FROM hotline_call_text WHERE hotline_call_text MATCH $match)");
        }
        var shortWords = words.Where(w => w.Length < 3).ToList();
        for (var i = 0; i < shortWords.Count; i++)
        {
            conditions.Add($"(instr(lower(h.notes), lower($short{i})) > 0 OR instr(lower(h.cancer_description), lower($short{i})) > 0)");
        }
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            $"SELECT {Columns} FROM hotline_calls h WHERE {string.Join(" AND ", conditions)} ORDER BY h.started_at DESC, h.call_id DESC LIMIT $limit")
            .With("$from", HotlineCalls.DateBound(query.FromDate, end: false)).With("$to", HotlineCalls.DateBound(query.ToDate, end: true))
            .With("$topic", (int)query.Topic).With("$afterStarted", afterStarted).With("$afterId", afterId).With("$limit", pageSize + 1)
            // Each word a phrase of its own (quotes doubled), all of them required.
            .With("$match", string.Join(" AND ", indexed.Select(w => "\"" + w.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"")));
        for (var i = 0; i < shortWords.Count; i++)
        {
            command.With($"$short{i}", shortWords[i]);
        }
        var rows = new List<(LocalHotlineCall Item, string SortKey, string Id)>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                rows.Add((Read(reader), reader.GetString(5), reader.GetString(6)));
            }
        }
        return KeysetPage.Split(rows, pageSize);
    }

    private static async Task<LocalHotlineCall> ReadAsync(SqliteConnection connection, SqliteTransaction? transaction, string callId, CancellationToken cancellationToken)
    {
        await using var command = connection.Command($"SELECT {Columns} FROM hotline_calls h WHERE h.call_id = $id", transaction).With("$id", callId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : throw new ResourceNotFoundException("Hotline call", callId);
    }

    private static LocalHotlineCall Read(SqliteDataReader reader)
    {
        var parked = reader.GetInt64(2) == 1;
        var pending = reader.GetInt64(3) == 1;
        var refusal = reader.IsDBNull(4) ? null : reader.GetString(4);
        return new LocalHotlineCall
        {
            Call = HotlineCall.Parser.ParseFrom((byte[])reader[0]),
            CallbackContact = reader.IsDBNull(1) ? null : CallbackContact.Parser.ParseFrom((byte[])reader[1]),
            DeliveryState = parked ? DeliveryState.Parked : pending ? DeliveryState.Pending : refusal is not null ? DeliveryState.Rejected : DeliveryState.Delivered,
            DeliveryError = refusal ?? "",
        };
    }
}
