using System.Data.Common;
using Microsoft.Extensions.Options;
using RareCancerNetwork.Hub.Feed;
using RareCancerNetwork.Hub.Storage;
using RareCancerNetwork.Node.Attachments;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Hub.Consultations;

/// <summary>Which files each consultation lists, and which of them the hub holds whole; used inside consultation transactions.</summary>
internal static class ConsultationAttachmentRows
{
    /// <summary>The consultation's own files (not an answer's).</summary>
    public const string OwnFiles = "";

    /// <summary>Lists the files of a consultation (<paramref name="requestId"/> empty) or of an answer.</summary>
    /// <returns>How many of them the hub does not hold whole yet.</returns>
    public static async Task<int> RecordAsync(DbConnection connection, DbTransaction transaction, string consultationId, string requestId,
        IEnumerable<AttachmentDescriptor> attachments, CancellationToken cancellationToken)
    {
        foreach (var attachment in attachments)
        {
            await using var insert = connection.Command(
                """
                INSERT INTO consultation_attachments (consultation_id, request_id, sha256, file_name, media_type, size_bytes)
                VALUES (@id, @request, @sha, @name, @type, @size) ON CONFLICT DO NOTHING
                """, transaction)
                .With("@id", consultationId).With("@request", requestId).With("@sha", attachment.Sha256Hex).With("@name", attachment.FileName)
                .With("@type", attachment.MediaType).With("@size", attachment.SizeBytes);
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }
        return await MissingAsync(connection, transaction, consultationId, requestId, cancellationToken);
    }

    public static async Task<int> MissingAsync(DbConnection connection, DbTransaction? transaction, string consultationId, string requestId, CancellationToken cancellationToken)
    {
        await using var missing = connection.Command(
            """
            SELECT COUNT(*) FROM consultation_attachments a
            WHERE a.consultation_id = @id AND a.request_id = @request AND NOT EXISTS (SELECT 1 FROM attachment_blobs b WHERE b.sha256 = a.sha256)
            """, transaction).With("@id", consultationId).With("@request", requestId);
        return Convert.ToInt32(await missing.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Every file of the consultation: its own first, then each answer's; whether the hub holds it whole.</summary>
    public static async Task<List<(string RequestId, AttachmentDescriptor Descriptor, bool Available)>> ReadAsync(DbConnection connection, DbTransaction? transaction,
        string consultationId, CancellationToken cancellationToken)
    {
        var files = new List<(string, AttachmentDescriptor, bool)>();
        await using var select = connection.Command(
            """
            SELECT a.request_id, a.sha256, a.file_name, a.media_type, a.size_bytes, b.sha256 FROM consultation_attachments a
            LEFT JOIN attachment_blobs b ON b.sha256 = a.sha256
            WHERE a.consultation_id = @id ORDER BY a.request_id, a.file_name, a.sha256
            """, transaction).With("@id", consultationId);
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            files.Add((reader.GetString(0),
                new AttachmentDescriptor { Sha256Hex = reader.GetString(1), FileName = reader.GetString(2), MediaType = reader.GetString(3), SizeBytes = reader.GetInt64(4) },
                !reader.IsDBNull(5)));
        }
        return files;
    }

    /// <summary>"2 files (4.0 GiB)" for a person.</summary>
    public static string Describe(IReadOnlyCollection<AttachmentDescriptor> attachments) =>
        $"{attachments.Count} attached file{(attachments.Count == 1 ? "" : "s")} ({AttachmentOptions.Bytes(attachments.Sum(a => a.SizeBytes))})";
}

/// <summary>A consultation the hub holds whose files have not all arrived: how many, and how far they are.</summary>
public sealed record AwaitingFiles(string ConsultationId, string FacilityCode, DateTimeOffset ReceivedAt, int FilesMissing, long BytesMissing, long BytesHeld);

/// <summary>
/// Attached files at the hub: who may send and download which file, the bytes held (content-addressed, shared by every
/// instance through <see cref="HubOptions.AttachmentsFolder"/>), and what a whole file sets going: a consultation whose
/// files have all arrived leaves AWAITING_ATTACHMENTS and is offered to an expert.
/// </summary>
public sealed partial class HubAttachments(HubDatabase database, EventFeed feed, IOptions<HubOptions> options, TimeProvider clock, ILogger<HubAttachments> logger)
{
    public BlobStore Blobs { get; } = new(options.Value.AttachmentsFolder);

    public AttachmentOptions Limits => options.Value.Attachments;

    /// <summary>The descriptor of a file one of the node's consultations (or its answers) lists.</summary>
    public async Task<AttachmentDescriptor> ResolveForNodeAsync(string nodeId, string consultationId, string sha256Hex, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using (var owner = connection.Command("SELECT spoke_node_id FROM consultations WHERE consultation_id = @id").With("@id", consultationId))
        {
            var nodeOf = await owner.ExecuteScalarAsync(cancellationToken) as string ?? throw new ResourceNotFoundException("Consultation", consultationId);
            if (nodeOf != nodeId)
            {
                throw new AccessDeniedException($"Consultation {consultationId} belongs to another spoke node.");
            }
        }
        return await ListedAsync(connection, consultationId, sha256Hex, cancellationToken);
    }

    /// <summary>
    /// The descriptor of a file of a consultation the expert may read: assigned to them, or held for their second review.
    /// Only a whole file (FAILED_PRECONDITION while it is arriving).
    /// </summary>
    public async Task<AttachmentDescriptor> ResolveForExpertAsync(string expertId, string consultationId, string sha256Hex, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using (var access = connection.Command(
            """
            SELECT c.assigned_expert_id,
                   (SELECT COUNT(*) FROM report_reviews r WHERE r.consultation_id = c.consultation_id AND r.reviewer_expert_id = @expert AND r.decision IS NULL)
            FROM consultations c WHERE c.consultation_id = @id
            """).With("@id", consultationId).With("@expert", expertId))
        await using (var reader = await access.ExecuteReaderAsync(cancellationToken))
        {
            if (!await reader.ReadAsync(cancellationToken))
            {
                throw new ResourceNotFoundException("Consultation", consultationId);
            }
            if (reader.GetNullableString(0) != expertId && reader.GetInt64(1) == 0)
            {
                throw new AccessDeniedException($"Consultation {consultationId} is not assigned to you, nor held for your review.");
            }
        }
        var descriptor = await ListedAsync(connection, consultationId, sha256Hex, cancellationToken);
        await using var whole = connection.Command("SELECT COUNT(*) FROM attachment_blobs WHERE sha256 = @sha").With("@sha", sha256Hex);
        if (Convert.ToInt64(await whole.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture) == 0 || !Blobs.IsComplete(sha256Hex))
        {
            throw new PreconditionFailedException("ATTACHMENT_IN_TRANSIT",
                $"'{descriptor.FileName}' is still on its way to the hub: {Blobs.ReceivedBytes(descriptor):N0} of {descriptor.SizeBytes:N0} bytes have arrived. Download it once it is whole.");
        }
        return descriptor;
    }

    private static async Task<AttachmentDescriptor> ListedAsync(DbConnection connection, string consultationId, string sha256Hex, CancellationToken cancellationToken)
    {
        await using var select = connection.Command(
            "SELECT file_name, media_type, size_bytes FROM consultation_attachments WHERE consultation_id = @id AND sha256 = @sha ORDER BY request_id LIMIT 1")
            .With("@id", consultationId).With("@sha", sha256Hex);
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            throw new ResourceNotFoundException("Attachment", sha256Hex, $"consultation {consultationId} lists no file with this SHA-256");
        }
        return new AttachmentDescriptor { FileName = reader.GetString(0), MediaType = reader.GetString(1), SizeBytes = reader.GetInt64(2), Sha256Hex = sha256Hex };
    }

    /// <summary>
    /// Records a whole, verified file (again, harmlessly, when it was recorded before) and offers every consultation
    /// whose files have now all arrived to an expert, in one transaction.
    /// </summary>
    public async Task CompletedAsync(AttachmentDescriptor descriptor, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var notify = await database.WriteAsync(async (connection, transaction) =>
        {
            await using (var insert = connection.Command(
                "INSERT INTO attachment_blobs (sha256, size_bytes, completed_at) VALUES (@sha, @size, @now) ON CONFLICT DO NOTHING", transaction)
                .With("@sha", descriptor.Sha256Hex).With("@size", descriptor.SizeBytes).With("@now", now.ToDbText()))
            {
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }
            var ready = new List<(string Id, string NodeId, OrganSystem Organ)>();
            await using (var select = connection.Command(
                """
                SELECT c.consultation_id, c.spoke_node_id, c.organ_system FROM consultations c
                WHERE c.status = @awaiting
                  AND EXISTS (SELECT 1 FROM consultation_attachments a WHERE a.consultation_id = c.consultation_id AND a.request_id = '' AND a.sha256 = @sha)
                  AND NOT EXISTS (SELECT 1 FROM consultation_attachments a WHERE a.consultation_id = c.consultation_id AND a.request_id = ''
                                  AND NOT EXISTS (SELECT 1 FROM attachment_blobs b WHERE b.sha256 = a.sha256))
                ORDER BY c.received_at, c.consultation_id
                """, transaction).With("@awaiting", (int)ConsultationStatus.AwaitingAttachments).With("@sha", descriptor.Sha256Hex))
            await using (var reader = await select.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    ready.Add((reader.GetString(0), reader.GetString(1), (OrganSystem)reader.GetInt32(2)));
                }
            }
            foreach (var (id, nodeId, organ) in ready)
            {
                await ConsultationStore.OfferAsync(connection, transaction, id, nodeId, organ, now, cancellationToken);
            }
            return ready.Select(r => r.NodeId).Distinct().ToList();
        }, cancellationToken);
        LogCompleted(logger, descriptor.SizeBytes, notify.Count);
        feed.Notify(notify);
    }

    /// <summary>Records a file found whole in the folder if the database does not know it yet (the hub stopped between the two).</summary>
    public async Task EnsureRecordedAsync(AttachmentDescriptor descriptor, CancellationToken cancellationToken)
    {
        await using (var connection = await database.OpenAsync(cancellationToken))
        await using (var recorded = connection.Command("SELECT COUNT(*) FROM attachment_blobs WHERE sha256 = @sha").With("@sha", descriptor.Sha256Hex))
        {
            if (Convert.ToInt64(await recorded.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture) > 0)
            {
                return;
            }
        }
        await CompletedAsync(descriptor, cancellationToken);
    }

    /// <summary>Each file of the consultation with the bytes the hub holds, for the expert's view.</summary>
    public async Task AddTransfersAsync(AssignedConsultation consultation, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        foreach (var (requestId, descriptor, available) in await ConsultationAttachmentRows.ReadAsync(connection, null, consultation.ConsultationId, cancellationToken))
        {
            consultation.Attachments.Add(new AttachmentTransfer
            {
                File = descriptor,
                RequestId = requestId,
                HubReceivedBytes = available ? descriptor.SizeBytes : Blobs.ReceivedBytes(descriptor),
                Available = available,
            });
        }
    }

    /// <summary>Every consultation the hub holds but cannot offer yet because files are still arriving, oldest first.</summary>
    public async Task<IReadOnlyList<AwaitingFiles>> AwaitingAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var select = connection.Command(
            """
            SELECT c.consultation_id, c.facility_code, c.received_at, a.sha256, a.size_bytes FROM consultations c
            JOIN consultation_attachments a ON a.consultation_id = c.consultation_id AND a.request_id = ''
            WHERE c.status = @awaiting AND NOT EXISTS (SELECT 1 FROM attachment_blobs b WHERE b.sha256 = a.sha256)
            ORDER BY c.received_at, c.consultation_id
            """).With("@awaiting", (int)ConsultationStatus.AwaitingAttachments);
        var rows = new List<(string Id, string Facility, DateTimeOffset ReceivedAt, AttachmentDescriptor File)>();
        await using (var reader = await select.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                rows.Add((reader.GetString(0), reader.GetString(1), reader.GetInstant(2),
                    new AttachmentDescriptor { Sha256Hex = reader.GetString(3), SizeBytes = reader.GetInt64(4) }));
            }
        }
        return rows.GroupBy(r => r.Id)
            .Select(g => new AwaitingFiles(g.Key, g.First().Facility, g.First().ReceivedAt, g.Count(), g.Sum(r => r.File.SizeBytes),
                g.Sum(r => Blobs.ReceivedBytes(r.File))))
            .ToList();
    }

    [LoggerMessage(EventId = 3301, Level = LogLevel.Information, Message = "An attached file of {SizeBytes} bytes is whole at the hub; {Nodes} spoke(s) told")]
    private static partial void LogCompleted(ILogger logger, long sizeBytes, int nodes);
}
