using System.Security.Cryptography;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Node.Referrals;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Protos.V1;
using RareCancerNetwork.Spoke.Directory;
using RareCancerNetwork.Spoke.Outbox;
using RareCancerNetwork.Spoke.Pseudonymisation;
using RareCancerNetwork.Spoke.Store;

namespace RareCancerNetwork.Spoke.Referrals;

/// <summary>What the sending facility puts into a new referral (from the local API or a trial match).</summary>
public sealed record NewReferral(CreateReferralRequest Request, TrialMatch? Match);

/// <summary>
/// Referrals at the spoke. A referral and every change made here are stored with their outbox entry in one
/// transaction (one ordering key per referral, so its changes reach the hub after it, in order) and shown at
/// once; the hub's version, back through the feed, takes the place of what it has applied. The facility's own
/// patient id stays in this store: the hub and the receiving spoke get the pseudonym.
/// </summary>
public sealed class LocalReferralStore(SpokeDatabase database, LocalDirectoryStore directory, PatientPseudonymizer pseudonymizer, OutboxSignal outboxSignal,
    IOptions<SpokeOptions> options, TimeProvider clock)
{
    public const string DeliverKind = "deliver_referral";
    public const string TransitionKind = "referral_transition";

    public static string OrderingKey(string referralId) => $"referral:{referralId}";

    // Read from the referral's outbox entries by its ordering key (the kind term, as written, selects the small partial index
    // ix_outbox_referrals): whether the referral itself is still on its way, the latest refusal not followed by a delivery,
    // and whether an entry is parked or queued.
    private const string ReferralKinds = $"kind IN ('{DeliverKind}', '{TransitionKind}')";

    private const string Columns =
        $"""
        r.referral, r.sent_here, r.addressed_here, r.local_patient_id, r.effective_state, r.referral_id, r.updated_at,
        EXISTS (SELECT 1 FROM outbox o WHERE o.ordering_key = 'referral:' || r.referral_id AND o.{ReferralKinds} AND o.kind = '{DeliverKind}'
            AND o.delivered_at IS NULL AND o.failed_at IS NULL),
        (SELECT o.last_error FROM outbox o WHERE o.ordering_key = 'referral:' || r.referral_id AND o.{ReferralKinds} AND o.failed_at IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM outbox later WHERE later.ordering_key = o.ordering_key AND later.{ReferralKinds}
                AND later.outbox_id > o.outbox_id AND later.delivered_at IS NOT NULL)
            ORDER BY o.outbox_id DESC LIMIT 1),
        (SELECT COALESCE(o.last_error, '') FROM outbox o WHERE o.ordering_key = 'referral:' || r.referral_id AND o.{ReferralKinds} AND o.parked_at IS NOT NULL
            AND o.delivered_at IS NULL AND o.failed_at IS NULL ORDER BY o.outbox_id LIMIT 1),
        EXISTS (SELECT 1 FROM outbox o WHERE o.ordering_key = 'referral:' || r.referral_id AND o.{ReferralKinds} AND o.delivered_at IS NULL AND o.failed_at IS NULL)
        """;

    public async Task<(LocalReferral Referral, bool Duplicate)> CreateAsync(string createdBy, NewReferral created, CancellationToken cancellationToken)
    {
        var routes = await RoutesAsync(cancellationToken);
        var result = await database.WriteAsync((connection, transaction) => CreateInAsync(connection, transaction, routes, createdBy, created, cancellationToken),
            cancellationToken);
        if (!result.Duplicate)
        {
            outboxSignal.Wake();
        }
        return result;
    }

    /// <summary>Where referrals can go: the directory copy's facilities and trials, read before a write begins (not while it holds the lock).</summary>
    public sealed record Routes(IReadOnlyDictionary<string, Facility> Facilities, IReadOnlyDictionary<string, Trial> Trials);

    public async Task<Routes> RoutesAsync(CancellationToken cancellationToken) => new(
        (await directory.RequireFacilitiesAsync(cancellationToken)).ToDictionary(f => f.FacilityCode),
        (await directory.TrialsAsync(cancellationToken)).ToDictionary(t => t.TrialId));

    /// <summary>
    /// Creates the referral in the caller's transaction (a hotline call records the referral it made in the same one); the caller
    /// wakes the outbox once it has committed.
    /// </summary>
    public async Task<(LocalReferral Referral, bool Duplicate)> CreateInAsync(SqliteConnection connection, SqliteTransaction transaction, Routes routes,
        string createdBy, NewReferral created, CancellationToken cancellationToken)
    {
        var request = created.Request;
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(request.ToByteArray()));
        var now = clock.GetUtcNow();
        await using (var existing = connection.Command("SELECT request_sha256 FROM referrals WHERE referral_id = $id", transaction).With("$id", request.ReferralId))
        {
            if (await existing.ExecuteScalarAsync(cancellationToken) is { } stored)
            {
                if (stored as string != sha256)
                {
                    throw new ConflictException($"Referral {request.ReferralId} exists with other content; make a new referral id.");
                }
                return (await ReadAsync(connection, transaction, request.ReferralId, cancellationToken), true);
            }
        }
        var receiver = ReferralWorkflow.ResolveReceiver(request.Target, routes.Facilities, routes.Trials);
        var (localPatientId, sharedRecord) = await PatientAsync(connection, transaction, request, cancellationToken);
        var referral = new Referral
        {
            ReferralId = request.ReferralId,
            SendingFacilityCode = options.Value.FacilityCode,
            Target = request.Target,
            ReceivingFacilityCode = receiver.FacilityCode,
            PatientPseudonym = pseudonymizer.Pseudonymise(localPatientId),
            Reason = request.Reason,
            Urgency = request.Urgency,
            Note = request.Note,
            ConsultationId = request.ConsultationId,
            RegistryRecordId = request.RegistryRecordId,
            ClinicalSummary = request.ClinicalSummary,
            SharedRecord = request.IncludeRegistryRecord ? sharedRecord : null,
            TrialMatch = created.Match,
            CreatedBy = createdBy,
            CreatedAt = Timestamp.FromDateTimeOffset(now),
            State = ReferralState.Requested,
        };
        await using (var insert = connection.Command(
            """
            INSERT INTO referrals (referral_id, sent_here, addressed_here, local_patient_id, request_sha256, referral, effective_state, created_at, updated_at)
            VALUES ($id, 1, 0, $patient, $sha, $referral, $state, $now, $now)
            """, transaction)
            .With("$id", referral.ReferralId).With("$patient", localPatientId).With("$sha", sha256).With("$referral", referral.ToByteArray())
            .With("$state", (int)ReferralState.Requested).With("$now", now.ToDbText()))
        {
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }
        await OutboxStore.EnqueueAsync(connection, transaction, DeliverKind, referral.ReferralId, OrderingKey(referral.ReferralId),
            new DeliverReferralRequest { Referral = referral }.ToByteArray(), now, cancellationToken);
        return (await ReadAsync(connection, transaction, referral.ReferralId, cancellationToken), false);
    }

    /// <summary>The receiving facility's step (receive, accept, reject, start, complete, fail), checked against the state as this spoke knows it.</summary>
    public Task<LocalReferral> ActAsync(string madeBy, ActOnIncomingReferralRequest request, CancellationToken cancellationToken) =>
        TransitionAsync(madeBy, request.ReferralId, ReferralWorkflow.TargetOf(request.Action), ReferralParty.Receiver, request.Reason, request.Outcome, request.Note,
            cancellationToken);

    public Task<LocalReferral> CancelAsync(string madeBy, CancelReferralRequest request, CancellationToken cancellationToken) =>
        TransitionAsync(madeBy, request.ReferralId, ReferralState.Cancelled, ReferralParty.Sender, request.Reason, ReferralOutcome.Unspecified, "", cancellationToken);

    private async Task<LocalReferral> TransitionAsync(string madeBy, string referralId, ReferralState to, ReferralParty party, string reason, ReferralOutcome outcome,
        string note, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var view = await database.WriteAsync(async (connection, transaction) =>
        {
            var current = await ReadAsync(connection, transaction, referralId, cancellationToken);
            if (party == ReferralParty.Receiver && !current.AddressedHere)
            {
                throw new AccessDeniedException($"Referral {referralId} is addressed to {current.Referral.ReceivingFacilityCode}, which this spoke does not serve; only its receiving facility acts on it.");
            }
            if (party == ReferralParty.Sender && !current.SentHere)
            {
                throw new AccessDeniedException($"Referral {referralId} was sent by {current.Referral.SendingFacilityCode}; only the sending facility cancels it.");
            }
            ReferralWorkflow.Require(referralId, current.EffectiveState, to, party);
            var transition = new ReferralTransition
            {
                TransitionId = Guid.CreateVersion7().ToString(),
                FromState = current.EffectiveState,
                ToState = to,
                OccurredAt = Timestamp.FromDateTimeOffset(now),
                MadeBy = madeBy,
                MadeByFacilityCode = options.Value.FacilityCode,
                Reason = reason,
                Outcome = outcome,
                Note = note,
            };
            await using (var insert = connection.Command(
                "INSERT INTO referral_local_transitions (transition_id, referral_id, transition, made_at) VALUES ($id, $referral, $transition, $now)", transaction)
                .With("$id", transition.TransitionId).With("$referral", referralId).With("$transition", transition.ToByteArray()).With("$now", now.ToDbText()))
            {
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }
            await using (var update = connection.Command("UPDATE referrals SET effective_state = $state, updated_at = $now WHERE referral_id = $id", transaction)
                .With("$state", (int)to).With("$now", now.ToDbText()).With("$id", referralId))
            {
                await update.ExecuteNonQueryAsync(cancellationToken);
            }
            await OutboxStore.EnqueueAsync(connection, transaction, TransitionKind, transition.TransitionId, OrderingKey(referralId),
                new DeliverReferralTransitionRequest { ReferralId = referralId, Transition = transition }.ToByteArray(), now, cancellationToken);
            return await ReadAsync(connection, transaction, referralId, cancellationToken);
        }, cancellationToken);
        outboxSignal.Wake();
        return view;
    }

    /// <summary>
    /// The hub's version of a referral, from the feed, in the feed's transaction: it replaces the one held, the
    /// changes made here that it has applied leave the pending list, and a referral addressed here appears.
    /// </summary>
    public static async Task ApplyAsync(SqliteConnection connection, SqliteTransaction transaction, Referral hubVersion, string nodeId, string now,
        CancellationToken cancellationToken)
    {
        var addressedHere = hubVersion.ReceivingNodeId == nodeId;
        await using (var upsert = connection.Command(
            """
            INSERT INTO referrals (referral_id, sent_here, addressed_here, referral, effective_state, created_at, updated_at)
            VALUES ($id, 0, $addressed, $referral, $state, $now, $now)
            ON CONFLICT (referral_id) DO UPDATE SET referral = excluded.referral, addressed_here = excluded.addressed_here, updated_at = excluded.updated_at
            """, transaction)
            .With("$id", hubVersion.ReferralId).With("$addressed", addressedHere ? 1 : 0).With("$referral", hubVersion.ToByteArray())
            .With("$state", (int)hubVersion.State).With("$now", now))
        {
            await upsert.ExecuteNonQueryAsync(cancellationToken);
        }
        foreach (var applied in hubVersion.History)
        {
            await using var delete = connection.Command("DELETE FROM referral_local_transitions WHERE transition_id = $id", transaction).With("$id", applied.TransitionId);
            await delete.ExecuteNonQueryAsync(cancellationToken);
        }
        await RecomputeStateAsync(connection, transaction, hubVersion.ReferralId, cancellationToken);
    }

    /// <summary>The hub refused a change made here for good: it leaves the pending list (the reason stays on the referral).</summary>
    public Task DropRefusedTransitionsAsync(IEnumerable<OutboxEntry> entries, CancellationToken cancellationToken) =>
        database.WriteAsync(async (connection, transaction) =>
        {
            foreach (var entry in entries.Where(e => e.Kind == TransitionKind))
            {
                var request = DeliverReferralTransitionRequest.Parser.ParseFrom(entry.Payload);
                await using (var delete = connection.Command("DELETE FROM referral_local_transitions WHERE transition_id = $id", transaction)
                    .With("$id", request.Transition.TransitionId))
                {
                    await delete.ExecuteNonQueryAsync(cancellationToken);
                }
                await RecomputeStateAsync(connection, transaction, request.ReferralId, cancellationToken);
            }
        }, cancellationToken);

    public async Task<LocalReferral> GetAsync(string referralId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await ReadAsync(connection, null, referralId, cancellationToken);
    }

    /// <summary>Most recently changed first, of one direction and effective state or all.</summary>
    public async Task<(IReadOnlyList<LocalReferral> Page, string NextPageToken)> ListAsync(ReferralDirection direction, ReferralState state, int pageSize, string pageToken,
        CancellationToken cancellationToken)
    {
        var (afterUpdated, afterId) = KeysetPageToken.Decode(pageToken);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            $"""
            SELECT {Columns} FROM referrals r
            WHERE ($direction = 0 OR ($direction = 1 AND r.sent_here = 1) OR ($direction = 2 AND r.addressed_here = 1))
              AND ($state = 0 OR r.effective_state = $state)
              AND ($afterUpdated IS NULL OR (r.updated_at, r.referral_id) < ($afterUpdated, $afterId))
            ORDER BY r.updated_at DESC, r.referral_id DESC LIMIT $limit
            """)
            .With("$direction", (int)direction).With("$state", (int)state).With("$afterUpdated", afterUpdated).With("$afterId", afterId).With("$limit", pageSize + 1);
        var rows = new List<(LocalReferral Item, string UpdatedAt, string Id)>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                rows.Add((ReadView(reader), reader.GetString(6), reader.GetString(5)));
            }
        }
        foreach (var row in rows)
        {
            row.Item.PendingTransitions.AddRange(await PendingAsync(connection, null, row.Id, cancellationToken));
        }
        var next = rows.Count > pageSize ? KeysetPageToken.Encode(rows[pageSize - 1].UpdatedAt, rows[pageSize - 1].Id) : "";
        return ([.. rows.Take(pageSize).Select(r => r.Item)], next);
    }

    private static async Task<LocalReferral> ReadAsync(SqliteConnection connection, SqliteTransaction? transaction, string referralId, CancellationToken cancellationToken)
    {
        LocalReferral view;
        await using (var command = connection.Command($"SELECT {Columns} FROM referrals r WHERE r.referral_id = $id", transaction).With("$id", referralId))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            // Note: the same answer for a referral of another facility as for none: a spoke holds only its own.
            view = await reader.ReadAsync(cancellationToken) ? ReadView(reader) : throw new ResourceNotFoundException("Referral", referralId);
        }
        view.PendingTransitions.AddRange(await PendingAsync(connection, transaction, referralId, cancellationToken));
        return view;
    }

    private static LocalReferral ReadView(SqliteDataReader reader) => new()
    {
        Referral = Referral.Parser.ParseFrom((byte[])reader[0]),
        SentHere = reader.GetInt32(1) == 1,
        AddressedHere = reader.GetInt32(2) == 1,
        LocalPatientId = reader.IsDBNull(3) ? "" : reader.GetString(3),
        EffectiveState = (ReferralState)reader.GetInt32(4),
        DeliveryPending = reader.GetInt32(7) == 1,
        DeliveryError = reader.IsDBNull(9) ? reader.IsDBNull(8) ? "" : reader.GetString(8) : reader.GetString(9),
        DeliveryState = !reader.IsDBNull(9) ? DeliveryState.Parked
            : reader.GetInt32(10) == 1 ? DeliveryState.Pending
            : !reader.IsDBNull(8) ? DeliveryState.Rejected
            : DeliveryState.Delivered,
    };

    /// <summary>Changes made here and still waiting for the hub (a refused one has left the list).</summary>
    private static async Task<List<ReferralTransition>> PendingAsync(SqliteConnection connection, SqliteTransaction? transaction, string referralId, CancellationToken cancellationToken)
    {
        var pending = new List<ReferralTransition>();
        await using var command = connection.Command("SELECT transition FROM referral_local_transitions WHERE referral_id = $id ORDER BY made_at, transition_id", transaction)
            .With("$id", referralId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            pending.Add(ReferralTransition.Parser.ParseFrom((byte[])reader[0]));
        }
        return pending;
    }

    /// <summary>The hub's state with the changes still pending here on top, each where the workflow allows it.</summary>
    private static async Task RecomputeStateAsync(SqliteConnection connection, SqliteTransaction transaction, string referralId, CancellationToken cancellationToken)
    {
        byte[] blob;
        await using (var read = connection.Command("SELECT referral FROM referrals WHERE referral_id = $id", transaction).With("$id", referralId))
        {
            if (await read.ExecuteScalarAsync(cancellationToken) is not byte[] bytes)
            {
                return;
            }
            blob = bytes;
        }
        var state = Referral.Parser.ParseFrom(blob).State;
        foreach (var pending in await PendingAsync(connection, transaction, referralId, cancellationToken))
        {
            if (ReferralWorkflow.PartyFor(state, pending.ToState) is not null)
            {
                state = pending.ToState;
            }
        }
        await using var update = connection.Command("UPDATE referrals SET effective_state = $state WHERE referral_id = $id", transaction)
            .With("$state", (int)state).With("$id", referralId);
        await update.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// The patient: the facility's own id, or a registry record's (with the record to share); given both, they
    /// must name the same patient. A linked consultation must be this spoke's, of the same patient.
    /// </summary>
    private static async Task<(string LocalPatientId, RegistryRecord? Record)> PatientAsync(SqliteConnection connection, SqliteTransaction transaction,
        CreateReferralRequest request, CancellationToken cancellationToken)
    {
        var localPatientId = request.LocalPatientId;
        RegistryRecord? record = null;
        if (request.RegistryRecordId.Length > 0)
        {
            await using var command = connection.Command(
                $"SELECT r.local_patient_id, v.record FROM registry_records r {Registry.LocalRegistryStore.CurrentBytes} WHERE r.record_id = $id", transaction).With("$id", request.RegistryRecordId);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                throw new InvalidFieldsException([new FieldViolation("registry_record_id", "is not a registry record of this facility")]);
            }
            if (localPatientId.Length > 0 && localPatientId != reader.GetString(0))
            {
                throw new InvalidFieldsException([new FieldViolation("local_patient_id", "names another patient than the registry record")]);
            }
            localPatientId = reader.GetString(0);
            record = RegistryRecord.Parser.ParseFrom((byte[])reader[1]);
        }
        if (request.ConsultationId.Length > 0)
        {
            await using var command = connection.Command("SELECT local_patient_id FROM consultations WHERE consultation_id = $id", transaction).With("$id", request.ConsultationId);
            var patient = await command.ExecuteScalarAsync(cancellationToken) as string
                ?? throw new InvalidFieldsException([new FieldViolation("consultation_id", "is not a consultation of this facility")]);
            if (localPatientId.Length > 0 && patient != localPatientId)
            {
                throw new InvalidFieldsException([new FieldViolation("consultation_id", "is about another patient")]);
            }
            localPatientId = patient;
        }
        return localPatientId.Length > 0
            ? (localPatientId, record)
            : throw new InvalidFieldsException([new FieldViolation("local_patient_id", "is required: the patient's id, or a registry_record_id or consultation_id naming the patient")]);
    }
}
