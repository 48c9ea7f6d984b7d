using Microsoft.Extensions.Options;
using RareCancerNetwork.Node.Attachments;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Protos.V1;
using RareCancerNetwork.Spoke.Outbox;
using RareCancerNetwork.Spoke.Store;

namespace RareCancerNetwork.Spoke.Attachments;

/// <summary>Wakes the attachment worker when a file is queued for the hub.</summary>
public sealed class AttachmentSignal : OutboxSignal;

/// <summary>
/// Attached files at the spoke: the bytes its users upload (content-addressed, resumable, verified), and each file's
/// way on to the hub. A file the spoke holds whole is queued in the outbox with its consultation, in one transaction
/// with its row here, and sent by <see cref="AttachmentDeliveryWorker"/>.
/// </summary>
public sealed class LocalAttachmentStore(SpokeDatabase database, LocalConsultationStore consultations, AttachmentSignal signal, IOptions<SpokeOptions> options,
    TimeProvider clock)
{
    public const string DeliverKind = "deliver_attachment";

    /// <summary>One outbox entry per file of a consultation (the same file attached to two consultations travels twice).</summary>
    public static string OrderingKey(string consultationId, string sha256Hex) => $"attachment:{consultationId}:{sha256Hex}";

    public BlobStore Blobs { get; } = new(options.Value.AttachmentsFolder);

    public AttachmentOptions Limits => options.Value.Attachments;

    /// <summary>Every file a consultation declares: its own, then each answer's (with the request id).</summary>
    public static IEnumerable<(string RequestId, AttachmentDescriptor File)> Declared(LocalConsultation consultation) =>
        consultation.Details.Attachments.Select(file => ("", file))
            .Concat(consultation.InformationRequests.SelectMany(request => request.AnswerAttachments.Select(file => (request.RequestId, file))));

    /// <summary>
    /// The declared file an upload names. NOT_FOUND when the consultation lists no such file; FAILED_PRECONDITION when it
    /// was withdrawn or refused by the hub (its files are not needed).
    /// </summary>
    public async Task<AttachmentDescriptor> ResolveAsync(string consultationId, string sha256Hex, CancellationToken cancellationToken)
    {
        var consultation = await consultations.GetAsync(consultationId, cancellationToken);
        var (_, file) = Declared(consultation).FirstOrDefault(d => d.File.Sha256Hex == sha256Hex);
        if (file is null)
        {
            throw new ResourceNotFoundException("Attachment", sha256Hex,
                $"consultation {consultationId} declares no file with this SHA-256; declare it when submitting or answering");
        }
        if (consultation.Status is ConsultationStatus.Withdrawn or ConsultationStatus.Rejected)
        {
            throw new PreconditionFailedException("CONSULTATION_CLOSED",
                $"Consultation {consultationId} is {Node.CommandLine.ProtoEnumNames.Name(consultation.Status)}: its files are no longer sent.");
        }
        return file;
    }

    /// <summary>Queues a whole file for the hub with its consultation, once (a repeat changes nothing).</summary>
    public async Task QueueForHubAsync(string consultationId, AttachmentDescriptor file, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var queued = await database.WriteAsync(async (connection, transaction) =>
        {
            await using (var insert = connection.Command(
                "INSERT INTO attachment_deliveries (consultation_id, sha256, queued_at, updated_at) VALUES ($id, $sha, $now, $now) ON CONFLICT DO NOTHING", transaction)
                .With("$id", consultationId).With("$sha", file.Sha256Hex).With("$now", now.ToDbText()))
            {
                if (await insert.ExecuteNonQueryAsync(cancellationToken) == 0)
                {
                    return false;
                }
            }
            var start = new AttachmentUploadStart { ConsultationId = consultationId, Sha256Hex = file.Sha256Hex };
            await OutboxStore.EnqueueAsync(connection, transaction, DeliverKind, consultationId, OrderingKey(consultationId, file.Sha256Hex),
                Google.Protobuf.MessageExtensions.ToByteArray(start), now, cancellationToken);
            return true;
        }, cancellationToken);
        if (queued)
        {
            signal.Wake();
        }
    }

    /// <summary>Queues every declared file the spoke already holds whole (the same file attached before).</summary>
    public async Task QueueHeldAsync(LocalConsultation consultation, CancellationToken cancellationToken)
    {
        foreach (var (_, file) in Declared(consultation).Where(d => Blobs.IsComplete(d.File.Sha256Hex)))
        {
            await QueueForHubAsync(consultation.ConsultationId, file, cancellationToken);
        }
    }

    /// <summary>Adds each declared file with the bytes held here and at the hub.</summary>
    public async Task AddTransfersAsync(LocalConsultation consultation, CancellationToken cancellationToken)
    {
        if (!Declared(consultation).Any())
        {
            // Most consultations carry no files: no look-up on the submission's path.
            return;
        }
        var atHub = await HubProgressAsync(consultation.ConsultationId, cancellationToken);
        foreach (var (requestId, file) in Declared(consultation))
        {
            var transfer = new AttachmentTransfer { File = file, RequestId = requestId, SpokeReceivedBytes = Blobs.ReceivedBytes(file) };
            if (atHub.TryGetValue(file.Sha256Hex, out var progress))
            {
                transfer.HubReceivedBytes = progress.Bytes;
                transfer.Available = progress.Complete;
                transfer.DeliveryState = progress.State;
                transfer.DeliveryError = progress.Error;
            }
            consultation.Attachments.Add(transfer);
        }
    }

    public async Task<AttachmentTransfer> TransferAsync(string consultationId, string sha256Hex, CancellationToken cancellationToken)
    {
        var consultation = await consultations.GetAsync(consultationId, cancellationToken);
        await AddTransfersAsync(consultation, cancellationToken);
        return consultation.Attachments.FirstOrDefault(a => a.File.Sha256Hex == sha256Hex)
            ?? throw new ResourceNotFoundException("Attachment", sha256Hex, $"consultation {consultationId} declares no file with this SHA-256");
    }

    private sealed record HubProgress(long Bytes, bool Complete, DeliveryState State, string Error);

    /// <summary>Each queued file's bytes at the hub, and its delivery state from its outbox entry.</summary>
    private async Task<Dictionary<string, HubProgress>> HubProgressAsync(string consultationId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        // The kind is written out (DeliverKind) so that the planner can use the partial index ix_outbox_attachments.
        await using var select = connection.Command(
            """
            SELECT d.sha256, d.hub_received_bytes, d.hub_complete, COALESCE(d.last_error, ''),
                   o.delivered_at IS NOT NULL, o.failed_at IS NOT NULL, o.parked_at IS NOT NULL, COALESCE(o.last_error, '')
            FROM attachment_deliveries d
            LEFT JOIN outbox o ON o.ordering_key = 'attachment:' || d.consultation_id || ':' || d.sha256 AND o.kind = 'deliver_attachment'
            WHERE d.consultation_id = $id
            """).With("$id", consultationId);
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        var progress = new Dictionary<string, HubProgress>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken))
        {
            var (bytes, complete) = (reader.GetInt64(1), reader.GetInt32(2) == 1);
            var state = complete || reader.GetInt32(4) == 1 ? DeliveryState.Delivered
                : reader.GetInt32(5) == 1 ? DeliveryState.Rejected
                : reader.GetInt32(6) == 1 ? DeliveryState.Parked
                : bytes > 0 ? DeliveryState.Sending
                : DeliveryState.Pending;
            // The error of a file on its way is the last failed attempt's (it is retried); of a refused or parked one, the outbox's reason.
            var error = state is DeliveryState.Rejected or DeliveryState.Parked ? reader.GetString(7)
                : state == DeliveryState.Delivered ? "" : reader.GetString(3);
            progress[reader.GetString(0)] = new HubProgress(bytes, complete, state, error);
        }
        return progress;
    }

    /// <summary>
    /// The oldest file due for the hub whose consultation (or answer) the hub has already taken: the hub accepts a file
    /// only for a consultation it holds.
    /// </summary>
    public async Task<OutboxEntry?> NextDueAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var select = connection.Command(
            """
            SELECT o.outbox_id, o.kind, o.aggregate_id, o.ordering_key, o.payload, o.attempts FROM outbox o
            WHERE o.kind = $kind AND o.delivered_at IS NULL AND o.failed_at IS NULL AND o.parked_at IS NULL
              AND (o.next_attempt_at IS NULL OR o.next_attempt_at <= $now)
              AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.aggregate_id = o.aggregate_id AND e.outbox_id < o.outbox_id AND e.kind <> $kind
                              AND e.delivered_at IS NULL AND e.failed_at IS NULL)
            ORDER BY o.outbox_id LIMIT 1
            """).With("$kind", DeliverKind).With("$now", clock.GetUtcNow().ToDbText());
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new OutboxEntry(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), (byte[])reader[4], reader.GetInt32(5))
            : null;
    }

    /// <summary>
    /// An attempt resumes at <paramref name="offset"/>: whatever had been sent beyond it (lost in flight when the hub or
    /// this node stopped) counts as sent again.
    /// </summary>
    public Task BeginAttemptAsync(AttachmentUploadStart file, long offset, CancellationToken cancellationToken) => UpdateAsync(file,
        """
        UPDATE attachment_deliveries SET bytes_resent = bytes_resent + MAX(0, sent_through - $offset), sent_through = $offset, hub_received_bytes = $offset,
            attempts = attempts + 1, updated_at = $now
        WHERE consultation_id = $id AND sha256 = $sha
        """, ("$offset", offset), cancellationToken);

    /// <summary>The highest offset written to the hub's stream; kept at every chunk, so a restart knows what it cost.</summary>
    public Task RecordSentAsync(AttachmentUploadStart file, long sentThrough, CancellationToken cancellationToken) => UpdateAsync(file,
        "UPDATE attachment_deliveries SET sent_through = $sent, updated_at = $now WHERE consultation_id = $id AND sha256 = $sha", ("$sent", sentThrough), cancellationToken);

    public Task RecordHubReceiptAsync(AttachmentUploadStart file, long receivedBytes, bool complete, CancellationToken cancellationToken) => UpdateAsync(file,
        """
        UPDATE attachment_deliveries SET hub_received_bytes = $received, hub_complete = $complete, last_error = NULL, updated_at = $now
        WHERE consultation_id = $id AND sha256 = $sha
        """, ("$received", receivedBytes), cancellationToken, ("$complete", complete ? 1 : 0));

    public Task RecordErrorAsync(AttachmentUploadStart file, string error, CancellationToken cancellationToken) => UpdateAsync(file,
        "UPDATE attachment_deliveries SET last_error = $error, updated_at = $now WHERE consultation_id = $id AND sha256 = $sha", ("$error", error), cancellationToken);

    /// <summary>What sending the file cost: attempts, and bytes sent again after resuming.</summary>
    public async Task<(int Attempts, long BytesResent)> CostAsync(string consultationId, string sha256Hex, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var select = connection.Command("SELECT attempts, bytes_resent FROM attachment_deliveries WHERE consultation_id = $id AND sha256 = $sha")
            .With("$id", consultationId).With("$sha", sha256Hex);
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? (reader.GetInt32(0), reader.GetInt64(1)) : (0, 0);
    }

    private async Task UpdateAsync(AttachmentUploadStart file, string sql, (string Name, object Value) parameter, CancellationToken cancellationToken,
        (string Name, object Value)? another = null)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var update = connection.Command(sql).With("$id", file.ConsultationId).With("$sha", file.Sha256Hex)
            .With("$now", clock.GetUtcNow().ToDbText()).With(parameter.Name, parameter.Value);
        if (another is { } extra)
        {
            update.With(extra.Name, extra.Value);
        }
        await update.ExecuteNonQueryAsync(cancellationToken);
    }
}
