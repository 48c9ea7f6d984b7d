using System.Data.Common;
using System.Security.Cryptography;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using RareCancerNetwork.Hub.Directory;
using RareCancerNetwork.Hub.Feed;
using RareCancerNetwork.Hub.Storage;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Node.Referrals;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Hub.Referrals;

/// <summary>
/// Referrals at the hub: routed to the spoke that serves the receiving facility (from the published
/// directory), applied once per referral and per transition (the store's keys decide, in any instance),
/// and every change sent to both spokes through their feeds in the transaction that makes it.
/// </summary>
public sealed class ReferralStore(HubDatabase database, EventFeed feed, TimeProvider clock)
{
    /// <summary>Names the patient of referrals stored before the column existed (from the referral as it was delivered); a no-op afterwards.</summary>
    public static Task FillPatientPseudonymsAsync(HubDatabase database, CancellationToken cancellationToken) =>
        database.WriteAsync(async (connection, transaction) =>
        {
            var unnamed = new List<(string Id, string Pseudonym)>();
            await using (var select = connection.Command("SELECT referral_id, referral FROM referrals WHERE patient_pseudonym = ''", transaction))
            await using (var reader = await select.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    unnamed.Add((reader.GetString(0), Referral.Parser.ParseFrom((byte[])reader[1]).PatientPseudonym));
                }
            }
            foreach (var (id, pseudonym) in unnamed)
            {
                await using var update = connection.Command("UPDATE referrals SET patient_pseudonym = @pseudonym WHERE referral_id = @id", transaction)
                    .With("@pseudonym", pseudonym).With("@id", id);
                await update.ExecuteNonQueryAsync(cancellationToken);
            }
        }, cancellationToken);

    private const string Columns = "r.referral, r.receiving_node_id, r.state, r.sending_node_id, r.request_sha256";

    public async Task<(Referral Referral, bool Duplicate)> DeliverAsync(string nodeId, Referral delivered, CancellationToken cancellationToken)
    {
        var request = delivered.Clone();
        request.ReceivingNodeId = "";
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(request.ToByteArray()));
        var now = clock.GetUtcNow();
        var (referral, duplicate, nodes) = await database.WriteAsync(async (connection, transaction) =>
        {
            if (await ReadAsync(connection, transaction, request.ReferralId, cancellationToken) is { } existing)
            {
                return existing.Sha256 == sha256 && existing.SendingNode == nodeId
                    ? (existing.Referral, true, (IReadOnlyList<string>)[])
                    : throw new ConflictException($"Referral {request.ReferralId} was delivered before with other content.");
            }
            var facilities = (await DirectoryPublisher.ReadAsync(connection, DirectoryPublisher.FacilityKind, cancellationToken, transaction))
                .ToDictionary(e => e.Facility.FacilityCode, e => e.Facility);
            var trials = (await DirectoryPublisher.ReadAsync(connection, DirectoryPublisher.TrialKind, cancellationToken, transaction))
                .ToDictionary(e => e.Trial.TrialId, e => e.Trial);
            // The hub's directory decides where it goes: a spoke's copy may be behind.
            var receiver = ReferralWorkflow.ResolveReceiver(request.Target, facilities, trials);
            var routed = request.Clone();
            routed.ReceivingFacilityCode = receiver.FacilityCode;
            routed.ReceivingNodeId = receiver.ServingNodeId;
            routed.State = ReferralState.Requested;
            routed.History.Clear();
            var trialArm = routed.Target.TrialArm;
            await using (var insert = connection.Command(
                """
                INSERT INTO referrals (referral_id, sending_node_id, sending_facility_code, receiving_node_id, receiving_facility_code, target_kind, trial_id, arm_id,
                    registry_record_id, consultation_id, urgency, state, request_sha256, referral, created_at, received_at, updated_at, patient_pseudonym)
                VALUES (@id, @sendingNode, @sendingFacility, @receivingNode, @receivingFacility, @kind, @trial, @arm, @record, @consultation, @urgency, @state,
                    @sha, @referral, @created, @now, @now, @pseudonym)
                """, transaction)
                .With("@pseudonym", routed.PatientPseudonym)
                .With("@id", routed.ReferralId).With("@sendingNode", nodeId).With("@sendingFacility", routed.SendingFacilityCode)
                .With("@receivingNode", routed.ReceivingNodeId).With("@receivingFacility", routed.ReceivingFacilityCode)
                .With("@kind", trialArm is null ? "facility" : "trial_arm").With("@trial", trialArm?.TrialId).With("@arm", trialArm?.ArmId)
                .With("@record", NullIfEmpty(routed.RegistryRecordId)).With("@consultation", NullIfEmpty(routed.ConsultationId))
                .With("@urgency", (int)routed.Urgency).With("@state", (int)ReferralState.Requested).With("@sha", sha256).With("@referral", routed.ToByteArray())
                .With("@created", routed.CreatedAt.ToDateTimeOffset().ToDbText()).With("@now", now.ToDbText()))
            {
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }
            var nodes = await AnnounceAsync(connection, transaction, routed, nodeId, now, cancellationToken);
            return (routed, false, nodes);
        }, cancellationToken);
        feed.Notify(nodes);
        return (referral, duplicate);
    }

    /// <summary>
    /// Applies a transition made at a party's spoke, if the workflow allows it from the hub's current state (the
    /// changes of both parties meet here, in the order they arrive). A repeat of an applied transition is a duplicate.
    /// </summary>
    public async Task<(Referral Referral, bool Duplicate)> TransitionAsync(string nodeId, string facilityCode, string referralId, ReferralTransition made,
        CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var (referral, duplicate, nodes) = await database.WriteAsync(async (connection, transaction) =>
        {
            var current = await ReadAsync(connection, transaction, referralId, cancellationToken)
                ?? throw new ResourceNotFoundException("Referral", referralId);
            var sender = current.SendingNode == nodeId;
            var receiver = current.Referral.ReceivingNodeId == nodeId;
            if (!sender && !receiver)
            {
                throw new AccessDeniedException($"Referral {referralId} was neither sent by this node's facility nor addressed to a facility it serves.");
            }
            if (current.Referral.History.Any(t => t.TransitionId == made.TransitionId))
            {
                return (current.Referral, true, (IReadOnlyList<string>)[]);
            }
            var party = made.ToState == ReferralState.Cancelled ? ReferralParty.Sender : ReferralParty.Receiver;
            if ((party == ReferralParty.Sender && !sender) || (party == ReferralParty.Receiver && !receiver))
            {
                throw new AccessDeniedException(party == ReferralParty.Sender
                    ? "Only the sending facility's spoke cancels a referral."
                    : $"Only the spoke serving the receiving facility moves a referral to {ReferralWorkflow.Name(made.ToState)}.");
            }
            ReferralWorkflow.Require(referralId, current.Referral.State, made.ToState, party);
            var applied = made.Clone();
            applied.FromState = current.Referral.State;
            applied.MadeByFacilityCode = facilityCode;
            applied.AppliedAt = Timestamp.FromDateTimeOffset(now);
            await using (var insert = connection.Command(
                """
                INSERT INTO referral_transitions (transition_id, referral_id, sequence, from_state, to_state, occurred_at, applied_at, made_by, made_by_facility_code,
                    outcome, transition)
                VALUES (@id, @referral, @sequence, @from, @to, @occurred, @applied, @by, @facility, @outcome, @transition)
                """, transaction)
                .With("@id", applied.TransitionId).With("@referral", referralId).With("@sequence", current.Referral.History.Count + 1)
                .With("@from", (int)applied.FromState).With("@to", (int)applied.ToState).With("@occurred", applied.OccurredAt.ToDateTimeOffset().ToDbText())
                .With("@applied", now.ToDbText()).With("@by", applied.MadeBy).With("@facility", facilityCode).With("@outcome", (int)applied.Outcome)
                .With("@transition", applied.ToByteArray()))
            {
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }
            await using (var update = connection.Command("UPDATE referrals SET state = @state, outcome = @outcome, updated_at = @now WHERE referral_id = @id", transaction)
                .With("@state", (int)applied.ToState).With("@outcome", (int)applied.Outcome).With("@now", now.ToDbText()).With("@id", referralId))
            {
                await update.ExecuteNonQueryAsync(cancellationToken);
            }
            var changed = current.Referral.Clone();
            changed.State = applied.ToState;
            changed.History.Add(applied);
            var nodes = await AnnounceAsync(connection, transaction, changed, current.SendingNode, now, cancellationToken);
            return (changed, false, nodes);
        }, cancellationToken);
        feed.Notify(nodes);
        return (referral, duplicate);
    }

    public async Task<Referral?> GetAsync(string referralId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return (await ReadAsync(connection, null, referralId, cancellationToken))?.Referral;
    }

    private sealed record Stored(Referral Referral, string SendingNode, string Sha256);

    private static async Task<Stored?> ReadAsync(DbConnection connection, DbTransaction? transaction, string referralId, CancellationToken cancellationToken)
    {
        Stored stored;
        await using (var command = connection.Command($"SELECT {Columns} FROM referrals r WHERE r.referral_id = @id", transaction).With("@id", referralId))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            if (!await reader.ReadAsync(cancellationToken))
            {
                return null;
            }
            var referral = Referral.Parser.ParseFrom((byte[])reader[0]);
            referral.ReceivingNodeId = reader.GetString(1);
            referral.State = (ReferralState)reader.GetInt32(2);
            stored = new Stored(referral, reader.GetString(3), reader.GetString(4));
        }
        await using (var history = connection.Command("SELECT transition FROM referral_transitions WHERE referral_id = @id ORDER BY sequence", transaction).With("@id", referralId))
        await using (var reader = await history.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                stored.Referral.History.Add(ReferralTransition.Parser.ParseFrom((byte[])reader[0]));
            }
        }
        return stored;
    }

    /// <summary>Both parties' feeds hear of the change (once, when one spoke is both).</summary>
    private static async Task<IReadOnlyList<string>> AnnounceAsync(DbConnection connection, DbTransaction transaction, Referral referral, string sendingNode,
        DateTimeOffset now, CancellationToken cancellationToken)
    {
        var nodes = new[] { sendingNode, referral.ReceivingNodeId }.Distinct().ToList();
        foreach (var node in nodes)
        {
            await EventFeed.AppendAsync(connection, transaction, node, "", now,
                new SubscribeEventsResponse { ReferralChanged = new ReferralChanged { Referral = referral } }, cancellationToken);
        }
        return nodes;
    }

    private static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;
}
