using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Data.Sqlite;
using RareCancerNetwork.Node.CommandLine;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Protos.V1;
using RareCancerNetwork.Spoke.Outbox;

namespace RareCancerNetwork.Spoke.Store;

/// <summary>
/// The facility closes a consultation: withdraws it before any report, or acknowledges reading its report. Each is
/// stored and shown at once and queued behind the consultation (one ordering key); the hub's status comes back
/// through the feed, and a change the hub refused keeps its reason.
/// </summary>
public sealed partial class LocalConsultationStore
{
    public const string WithdrawKind = "withdraw_consultation";
    public const string AcknowledgeKind = "acknowledge_report";

    public static string OrderingKey(string consultationId) => $"consultation:{consultationId}";

    public Task<LocalConsultation> WithdrawAsync(string withdrawnBy, WithdrawConsultationRequest request, CancellationToken cancellationToken) =>
        CloseAsync(request.ConsultationId, async (connection, transaction, current, now) =>
        {
            if (current.Status == ConsultationStatus.Withdrawn)
            {
                return false;
            }
            if (current.Status is ConsultationStatus.Reported or ConsultationStatus.Acknowledged or ConsultationStatus.Rejected)
            {
                throw new PreconditionFailedException("NOT_WITHDRAWABLE",
                    $"Consultation {request.ConsultationId} is {Name(current.Status)}: only a consultation without a report can be withdrawn.");
            }
            await Execute(connection.Command("UPDATE consultations SET status = $withdrawn, withdrawal_reason = $reason, updated_at = $now WHERE consultation_id = $id", transaction)
                .With("$withdrawn", (int)ConsultationStatus.Withdrawn).With("$reason", request.Reason).With("$now", now.ToDbText()).With("$id", request.ConsultationId),
                cancellationToken);
            var withdrawal = new DeliverConsultationWithdrawalRequest
            {
                ConsultationId = request.ConsultationId, Reason = request.Reason, WithdrawnBy = withdrawnBy, WithdrawnAt = Timestamp.FromDateTimeOffset(now),
            };
            await OutboxStore.EnqueueAsync(connection, transaction, WithdrawKind, request.ConsultationId, OrderingKey(request.ConsultationId), withdrawal.ToByteArray(), now,
                cancellationToken);
            return true;
        }, cancellationToken);

    public Task<LocalConsultation> AcknowledgeAsync(string acknowledgedBy, AcknowledgeReportRequest request, CancellationToken cancellationToken) =>
        CloseAsync(request.ConsultationId, async (connection, transaction, current, now) =>
        {
            var latest = current.Reports.Count == 0 ? 0 : current.Reports.Max(r => r.Version);
            var version = request.ReportVersion == 0 ? latest : request.ReportVersion;
            if (latest == 0)
            {
                throw new PreconditionFailedException("NOT_REPORTED", $"Consultation {request.ConsultationId} is {Name(current.Status)}: there is no report to acknowledge yet.");
            }
            if (version != latest)
            {
                throw new PreconditionFailedException("STALE_VERSION", $"Report version {version} is not the latest; version {latest} is: read and acknowledge it.");
            }
            if (current.AcknowledgedVersion == version)
            {
                return false;
            }
            await Execute(connection.Command(
                """
                UPDATE consultations SET status = $acknowledged, acknowledged_version = $version, acknowledged_at = COALESCE(acknowledged_at, $now), updated_at = $now
                WHERE consultation_id = $id
                """, transaction)
                .With("$acknowledged", (int)ConsultationStatus.Acknowledged).With("$version", version).With("$now", now.ToDbText()).With("$id", request.ConsultationId),
                cancellationToken);
            var acknowledgement = new DeliverReportAcknowledgementRequest
            {
                ConsultationId = request.ConsultationId, ReportVersion = version, AcknowledgedBy = acknowledgedBy, AcknowledgedAt = Timestamp.FromDateTimeOffset(now),
            };
            await OutboxStore.EnqueueAsync(connection, transaction, AcknowledgeKind, request.ConsultationId, OrderingKey(request.ConsultationId), acknowledgement.ToByteArray(),
                now, cancellationToken);
            return true;
        }, cancellationToken);

    /// <summary>Reads the consultation, lets <paramref name="change"/> act on it in one transaction, and wakes the outbox when it queued something.</summary>
    private async Task<LocalConsultation> CloseAsync(string consultationId,
        Func<SqliteConnection, SqliteTransaction, LocalConsultation, DateTimeOffset, Task<bool>> change, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var queued = await database.WriteAsync(async (connection, transaction) =>
            await change(connection, transaction, await ReadAsync(connection, transaction, consultationId, cancellationToken), now), cancellationToken);
        if (queued)
        {
            outboxSignal.Wake();
        }
        return await GetAsync(consultationId, cancellationToken);
    }

    private static async Task<LocalConsultation> ReadAsync(SqliteConnection connection, SqliteTransaction transaction, string consultationId, CancellationToken cancellationToken)
    {
        LocalConsultation consultation;
        await using (var command = connection.Command($"SELECT {Columns} FROM consultations WHERE consultation_id = $id", transaction).With("$id", consultationId))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            consultation = await reader.ReadAsync(cancellationToken) ? Read(reader) : throw new ResourceNotFoundException("Consultation", consultationId);
        }
        consultation.Reports.AddRange(await ConsultationReportRows.ReadAsync(connection, transaction, consultationId, cancellationToken));
        consultation.InformationRequests.AddRange(await InformationRequestsAsync(connection, transaction, consultationId, cancellationToken));
        consultation.Timeline.AddRange(await TimelineAsync(connection, transaction, consultationId, cancellationToken));
        return consultation;
    }

    private static string Name(ConsultationStatus status) => ProtoEnumNames.Name(status).ToUpperInvariant();

    private static async Task Execute(SqliteCommand command, CancellationToken cancellationToken)
    {
        await using (command)
        {
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }
}
