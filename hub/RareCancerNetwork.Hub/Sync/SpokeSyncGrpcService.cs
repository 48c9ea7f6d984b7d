using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using RareCancerNetwork.Hub.Audit;
using RareCancerNetwork.Hub.Consultations;
using RareCancerNetwork.Hub.Directory;
using RareCancerNetwork.Hub.Storage;
using RareCancerNetwork.Hub.Feed;
using RareCancerNetwork.Node.Attachments;
using RareCancerNetwork.Node.Audit;
using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Node.CommandLine;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Node.Validation;
using RareCancerNetwork.Protos.Contract;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Hub.Sync;

/// <summary>Spoke nodes deliver consultations and consume their event feed. A node acts only for its own facility.</summary>
public sealed partial class SpokeSyncGrpcService(ConsultationStore store, HubAttachments attachments, EventFeed feed, ForwardedAuditStore audit, HubDatabase database,
    ReportSigningKeys reportKeys, SpokeSyncStatusStore syncStatus, HubRestores restores, TimeProvider clock, IHostApplicationLifetime lifetime,
    ILogger<SpokeSyncGrpcService> logger)
    : SpokeSyncService.SpokeSyncServiceBase
{
    private const int FeedBatchSize = 200;

    /// <summary>
    /// A subscriber reads again after this long even without a wake-up: a notification lost while an
    /// instance's listening connection was down delays an event by at most this much.
    /// </summary>
    private static readonly TimeSpan FeedRecheckInterval = TimeSpan.FromSeconds(15);

    public override async Task<DeliverConsultationResponse> DeliverConsultation(DeliverConsultationRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        ValidateDelivery(v, "", request);
        v.ThrowIfInvalid();

        var node = Node(context);
        if (request.RequestingFacilityCode != node.FacilityCode)
        {
            throw new AccessDeniedException($"This node may deliver only for its own facility ({node.FacilityCode}).");
        }
        var outcome = await store.DeliverAsync(node.NodeId, request, context.CancellationToken);
        LogDelivered(logger, request.ConsultationId, node.NodeId, outcome.Duplicate);
        return new DeliverConsultationResponse
        {
            Status = outcome.Status,
            ReceivedAt = Timestamp.FromDateTimeOffset(outcome.ReceivedAt),
            Duplicate = outcome.Duplicate,
        };
    }

    public override async Task<DeliverConsultationsResponse> DeliverConsultations(DeliverConsultationsRequest request, ServerCallContext context)
    {
        if (request.Consultations.Count is 0 or > ContractLimits.ConsultationsPerDelivery)
        {
            throw new InvalidFieldsException([new FieldViolation("consultations",
                $"must hold 1-{ContractLimits.ConsultationsPerDelivery} consultations; got {request.Consultations.Count}")]);
        }
        var node = Node(context);
        // A node never sends another facility's consultations: that is a fault or an attack, refused as a whole.
        var foreign = request.Consultations.Select((consultation, index) => (consultation, index))
            .FirstOrDefault(c => c.consultation.RequestingFacilityCode != node.FacilityCode);
        if (foreign.consultation is not null)
        {
            throw new AccessDeniedException($"consultations[{foreign.index}].requesting_facility_code is {foreign.consultation.RequestingFacilityCode}; "
                + $"this node may deliver only for its own facility ({node.FacilityCode}).");
        }
        var results = new ConsultationDeliveryResult[request.Consultations.Count];
        var accepted = new List<int>();
        for (var i = 0; i < request.Consultations.Count; i++)
        {
            var consultation = request.Consultations[i];
            var v = new FieldValidator();
            ValidateDelivery(v, $"consultations[{i}].", consultation);
            if (v.Violations.Count > 0)
            {
                results[i] = Refused(consultation.ConsultationId, StatusCode.InvalidArgument, v.Invalid().Message);
            }
            else
            {
                accepted.Add(i);
            }
        }
        if (accepted.Count > 0)
        {
            var outcomes = await store.DeliverManyAsync(node.NodeId, accepted.Select(i => request.Consultations[i]).ToList(), CallAudit.Of(context), context.CancellationToken);
            for (var j = 0; j < accepted.Count; j++)
            {
                var consultationId = request.Consultations[accepted[j]].ConsultationId;
                results[accepted[j]] = outcomes[j] switch
                {
                    { Value: { } outcome } => new ConsultationDeliveryResult
                    {
                        ConsultationId = consultationId,
                        Outcome = outcome.Duplicate ? ConsultationDeliveryOutcome.Duplicate : ConsultationDeliveryOutcome.Stored,
                        Status = outcome.Status,
                        ReceivedAt = Timestamp.FromDateTimeOffset(outcome.ReceivedAt),
                    },
                    { Refusal: { } refusal } => Refused(consultationId, ErrorMappingInterceptor.ToRpcException(refusal).StatusCode, refusal.Message),
                    _ => throw new InvalidOperationException("A batched delivery answered neither an outcome nor a refusal."),
                };
            }
        }
        var (stored, duplicates) = (results.Count(r => r.Outcome == ConsultationDeliveryOutcome.Stored), results.Count(r => r.Outcome == ConsultationDeliveryOutcome.Duplicate));
        LogDeliveredMany(logger, node.NodeId, results.Length, stored, duplicates, results.Length - stored - duplicates);
        return new DeliverConsultationsResponse { Results = { results } };
    }

    private static ConsultationDeliveryResult Refused(string consultationId, StatusCode code, string message) => new()
    {
        ConsultationId = consultationId,
        Outcome = ConsultationDeliveryOutcome.Refused,
        // The status's canonical gRPC name (INVALID_ARGUMENT).
        Refusal = ProtoEnumNames.UpperSnakeCase(code.ToString()),
        Message = message,
    };

    /// <summary>The checks of one delivered consultation; <paramref name="prefix"/> places its fields in a batch.</summary>
    private void ValidateDelivery(FieldValidator v, string prefix, DeliverConsultationRequest request)
    {
        v.Uuid(prefix + "consultation_id", request.ConsultationId);
        v.Text(prefix + "requesting_facility_code", request.RequestingFacilityCode, 32);
        v.Pseudonym(prefix + "patient_pseudonym", request.PatientPseudonym);
        v.Text(prefix + "submitted_by", request.SubmittedBy, 200);
        if (request.SubmittedAt is null)
        {
            v.Add(prefix + "submitted_at", "is required");
        }
        ConsultationValidation.ValidateDetails(v, prefix + "details", request.Details, ConsultationValidation.TodayInJapan(clock));
        attachments.Limits.Check(v, prefix + "details.attachments", request.Details?.Attachments ?? []);
    }

    public override async Task<DeliverConsultationWithdrawalResponse> DeliverConsultationWithdrawal(DeliverConsultationWithdrawalRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        v.Uuid("consultation_id", request.ConsultationId);
        v.Text("reason", request.Reason, ContractLimits.WithdrawalReason);
        v.Text("withdrawn_by", request.WithdrawnBy, ContractLimits.PersonName);
        if (request.WithdrawnAt is null)
        {
            v.Add("withdrawn_at", "is required");
        }
        v.ThrowIfInvalid();
        var (status, duplicate) = await store.WithdrawAsync(Node(context).NodeId, request, context.CancellationToken);
        return new DeliverConsultationWithdrawalResponse { Status = status, Duplicate = duplicate };
    }

    public override async Task<DeliverReportAcknowledgementResponse> DeliverReportAcknowledgement(DeliverReportAcknowledgementRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        v.Uuid("consultation_id", request.ConsultationId);
        v.Range("report_version", request.ReportVersion, 1, ContractLimits.ReportVersions);
        v.Text("acknowledged_by", request.AcknowledgedBy, ContractLimits.PersonName);
        if (request.AcknowledgedAt is null)
        {
            v.Add("acknowledged_at", "is required");
        }
        v.ThrowIfInvalid();
        var (status, duplicate) = await store.AcknowledgeAsync(Node(context).NodeId, request, context.CancellationToken);
        return new DeliverReportAcknowledgementResponse { Status = status, Duplicate = duplicate };
    }

    public override async Task<DeliverInformationAnswerResponse> DeliverInformationAnswer(DeliverInformationAnswerRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        v.Uuid("consultation_id", request.ConsultationId);
        v.Uuid("request_id", request.RequestId);
        v.Text("answer", request.Answer, ContractLimits.InformationAnswer);
        ConsultationValidation.ValidateAttachments(v, "attachments", request.Attachments);
        attachments.Limits.Check(v, "attachments", request.Attachments);
        v.Text("answered_by", request.AnsweredBy, ContractLimits.PersonName);
        if (request.AnsweredAt is null)
        {
            v.Add("answered_at", "is required");
        }
        v.ThrowIfInvalid();
        var (answered, status, duplicate) = await store.AnswerInformationAsync(Node(context).NodeId, request, context.CancellationToken);
        return new DeliverInformationAnswerResponse { Request = answered, Status = status, Duplicate = duplicate };
    }

    public override async Task<DeliverAttachmentResponse> DeliverAttachment(IAsyncStreamReader<DeliverAttachmentRequest> requestStream, ServerCallContext context)
    {
        var nodeId = Node(context).NodeId;
        var receipt = await AttachmentReceiver.ReceiveAsync(requestStream,
            request => request.Start, request => request.Chunk,
            start => attachments.ResolveForNodeAsync(nodeId, start.ConsultationId, start.Sha256Hex, context.CancellationToken),
            descriptor => attachments.CompletedAsync(descriptor, CancellationToken.None),
            attachments.Blobs, attachments.Limits, "hub", context);
        LogAttachmentReceived(logger, nodeId, receipt.ReceivedBytes, receipt.Descriptor.SizeBytes);
        return new DeliverAttachmentResponse { ReceivedBytes = receipt.ReceivedBytes, Complete = receipt.Complete };
    }

    public override async Task<GetAttachmentReceiptResponse> GetAttachmentReceipt(GetAttachmentReceiptRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        v.Uuid("consultation_id", request.ConsultationId);
        v.Sha256("sha256_hex", request.Sha256Hex);
        v.ThrowIfInvalid();
        var descriptor = await attachments.ResolveForNodeAsync(Node(context).NodeId, request.ConsultationId, request.Sha256Hex, context.CancellationToken);
        if (attachments.Blobs.IsComplete(descriptor.Sha256Hex))
        {
            // A file made whole by a hub that stopped before recording it: recorded now, so its consultations go on.
            await attachments.EnsureRecordedAsync(descriptor, context.CancellationToken);
            return new GetAttachmentReceiptResponse { ReceivedBytes = descriptor.SizeBytes, Complete = true };
        }
        return new GetAttachmentReceiptResponse { ReceivedBytes = attachments.Blobs.ReceivedBytes(descriptor) };
    }

    public override async Task<FetchConsultationResponse> FetchConsultation(FetchConsultationRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        v.Uuid("consultation_id", request.ConsultationId);
        v.ThrowIfInvalid();
        return await store.FetchForNodeAsync(Node(context).NodeId, request.ConsultationId, context.CancellationToken);
    }

    public override async Task SubscribeEvents(SubscribeEventsRequest request, IServerStreamWriter<SubscribeEventsResponse> responseStream, ServerCallContext context)
    {
        var v = new FieldValidator();
        v.Range("after_sequence", request.AfterSequence, 0, long.MaxValue);
        v.ThrowIfInvalid();
        var nodeId = Node(context).NodeId;
        var cursor = request.AfterSequence;
        // A stopping hub ends its feeds at once (the spokes reconnect, to another instance or to this one restarted)
        // instead of holding its shutdown until the streams time out.
        using var ending = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, lifetime.ApplicationStopping);
        var cancellationToken = ending.Token;
        LogSubscribed(logger, nodeId, cursor);
        while (!cancellationToken.IsCancellationRequested)
        {
            // Take the wake-up before reading, so an event committed in between is never missed.
            var change = feed.NextChangeAsync(nodeId);
            var batch = await feed.ReadAfterAsync(nodeId, cursor, FeedBatchSize, cancellationToken);
            foreach (var @event in batch)
            {
                await responseStream.WriteAsync(@event, cancellationToken);
                cursor = @event.Sequence;
            }
            if (batch.Count < FeedBatchSize)
            {
                try
                {
                    await change.WaitAsync(FeedRecheckInterval, cancellationToken);
                }
                catch (TimeoutException)
                {
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    public override async Task<ForwardAuditEntriesResponse> ForwardAuditEntries(ForwardAuditEntriesRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        if (request.Entries.Count is 0 or > ContractLimits.AuditEntriesPerForward)
        {
            v.Add("entries", $"must hold 1-{ContractLimits.AuditEntriesPerForward} entries; got {request.Entries.Count}");
        }
        for (var i = 0; i < request.Entries.Count && i < ContractLimits.AuditEntriesPerForward; i++)
        {
            v.Range($"entries[{i}].sequence", request.Entries[i].Sequence, 1, long.MaxValue);
            if (request.Entries[i].OccurredAt is null)
            {
                v.Add($"entries[{i}].occurred_at", "is required");
            }
        }
        v.ThrowIfInvalid();
        var through = await audit.StoreAsync(Node(context).NodeId, request.Entries, context.CancellationToken);
        return new ForwardAuditEntriesResponse { StoredThroughSequence = through };
    }

    public override async Task<PullDirectoryResponse> PullDirectory(PullDirectoryRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        v.Range("after_version", request.AfterVersion, 0, long.MaxValue);
        var pageSize = v.PageSize("page_size", request.PageSize, 500, ContractLimits.DirectoryPullPageSize);
        v.ThrowIfInvalid();
        await using var connection = await database.OpenAsync(context.CancellationToken);
        return await DirectoryPublisher.PullAsync(connection, request.AfterVersion, pageSize, context.CancellationToken);
    }

    public override async Task<ReportSyncStatusResponse> ReportSyncStatus(ReportSyncStatusRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        v.Range("outbox_pending", request.OutboxPending, 0, long.MaxValue);
        v.Range("refused", request.Refused, 0, long.MaxValue);
        v.Range("parked", request.Parked, 0, long.MaxValue);
        v.Range("feed_cursor", request.FeedCursor, 0, long.MaxValue);
        v.Range("audit_sequence", request.AuditSequence, 0, long.MaxValue);
        v.ThrowIfInvalid();
        var nodeId = Node(context).NodeId;
        var received = await syncStatus.RecordAsync(nodeId, request, ContractVersionInterceptor.SpokeVersion(context), ContractVersionInterceptor.SpokeSchema(context),
            context.CancellationToken);
        return new ReportSyncStatusResponse
        {
            ReceivedAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(received),
            FeedHead = await feed.HeadAsync(nodeId, context.CancellationToken),
            ContractVersion = RareCancerNetwork.Protos.Contract.ContractVersion.Current,
            RedeliveryRequests = { await restores.ListAsync(nodeId, context.CancellationToken) },
        };
    }

    public override async Task<ListReportSigningKeysResponse> ListReportSigningKeys(ListReportSigningKeysRequest request, ServerCallContext context) =>
        new() { Keys = { await reportKeys.ListAsync(context.CancellationToken) } };

    private static (string NodeId, string FacilityCode) Node(ServerCallContext context) =>
        NetworkCaller.From(context.GetHttpContext().User).RequireSpokeNode();

    [LoggerMessage(EventId = 1201, Level = LogLevel.Information, Message = "Consultation {ConsultationId} delivered by node {NodeId} (duplicate: {Duplicate})")]
    private static partial void LogDelivered(ILogger logger, string consultationId, string nodeId, bool duplicate);

    [LoggerMessage(EventId = 1203, Level = LogLevel.Information,
        Message = "Node {NodeId} delivered {Count} consultations: {Stored} stored, {Duplicates} repeats, {Refused} refused")]
    private static partial void LogDeliveredMany(ILogger logger, string nodeId, int count, int stored, int duplicates, int refused);

    [LoggerMessage(EventId = 1202, Level = LogLevel.Information, Message = "Node {NodeId} subscribed to its feed after sequence {Cursor}")]
    private static partial void LogSubscribed(ILogger logger, string nodeId, long cursor);

    [LoggerMessage(EventId = 3303, Level = LogLevel.Information, Message = "Spoke node {NodeId} sent an attached file: {ReceivedBytes} of {SizeBytes} bytes held")]
    private static partial void LogAttachmentReceived(ILogger logger, string nodeId, long receivedBytes, long sizeBytes);
}
