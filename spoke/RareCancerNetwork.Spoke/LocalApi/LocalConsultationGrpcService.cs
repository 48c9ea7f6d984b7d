using Grpc.Core;
using Microsoft.Extensions.Options;
using RareCancerNetwork.Node.Attachments;
using RareCancerNetwork.Node.Audit;
using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Node.Consultations;
using RareCancerNetwork.Node.Validation;
using RareCancerNetwork.Protos.Contract;
using RareCancerNetwork.Protos.V1;
using RareCancerNetwork.Spoke.Attachments;
using RareCancerNetwork.Spoke.Store;

namespace RareCancerNetwork.Spoke.LocalApi;

/// <summary>The local pathologists' API. Answers from the spoke's own store, so it works while the hub is away.</summary>
public sealed partial class LocalConsultationGrpcService(
    LocalConsultationStore store, LocalAttachmentStore attachments, ReportSigningKeyStore reportKeys, IOptions<SpokeOptions> options, TimeProvider clock, ILogger<LocalConsultationGrpcService> logger)
    : LocalConsultationService.LocalConsultationServiceBase
{

    public override async Task<SubmitConsultationResponse> SubmitConsultation(SubmitConsultationRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        v.Uuid("consultation_id", request.ConsultationId);
        v.LocalPatientId("local_patient_id", request.LocalPatientId);
        ConsultationValidation.ValidateDetails(v, "details", request.Details, ConsultationValidation.TodayInJapan(clock));
        attachments.Limits.Check(v, "details.attachments", request.Details?.Attachments ?? []);
        v.ThrowIfInvalid();

        var caller = NetworkCaller.From(context.GetHttpContext().User);
        var (consultation, duplicate) = await store.SubmitAsync(options.Value.FacilityCode, caller.Subject, request, CallAudit.Of(context), context.CancellationToken);
        // A file this spoke holds already (attached before) goes on to the hub without a second upload.
        await attachments.QueueHeldAsync(consultation, context.CancellationToken);
        await attachments.AddTransfersAsync(consultation, context.CancellationToken);
        LogSubmitted(logger, consultation.ConsultationId, duplicate);
        return new SubmitConsultationResponse { Consultation = consultation, Duplicate = duplicate };
    }

    public override async Task<ListConsultationsResponse> ListConsultations(ListConsultationsRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        v.OptionalEnum("status", request.Status);
        var pageSize = v.PageSize("page_size", request.PageSize, 50, ContractLimits.ConsultationPageSize);
        v.Text("page_token", request.PageToken, ContractLimits.PageToken, required: false);
        v.ThrowIfInvalid();
        var (page, next) = await store.ListAsync(request.Status, pageSize, request.PageToken, context.CancellationToken);
        var response = new ListConsultationsResponse { NextPageToken = next };
        foreach (var consultation in page)
        {
            await attachments.AddTransfersAsync(consultation, context.CancellationToken);
        }
        response.Consultations.AddRange(page);
        return response;
    }

    public override async Task<GetConsultationResponse> GetConsultation(GetConsultationRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        v.Uuid("consultation_id", request.ConsultationId);
        v.ThrowIfInvalid();
        var consultation = await store.GetAsync(request.ConsultationId, context.CancellationToken);
        // Checked at every read, with the keys held here: a report altered in this store fails as surely as one altered on the way.
        var keys = await reportKeys.LoadAsync(context.CancellationToken);
        foreach (var report in consultation.Reports)
        {
            consultation.SignatureChecks.Add(await ReportSignatures.VerifyAsync(report, keys));
        }
        await attachments.AddTransfersAsync(consultation, context.CancellationToken);
        return new GetConsultationResponse { Consultation = consultation };
    }

    public override async Task<WithdrawConsultationResponse> WithdrawConsultation(WithdrawConsultationRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        v.Uuid("consultation_id", request.ConsultationId);
        v.Text("reason", request.Reason, ContractLimits.WithdrawalReason);
        v.ThrowIfInvalid();
        var consultation = await store.WithdrawAsync(NetworkCaller.From(context.GetHttpContext().User).Subject, request, context.CancellationToken);
        LogClosed(logger, request.ConsultationId, consultation.Status);
        return new WithdrawConsultationResponse { Consultation = consultation };
    }

    public override async Task<AcknowledgeReportResponse> AcknowledgeReport(AcknowledgeReportRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        v.Uuid("consultation_id", request.ConsultationId);
        v.Range("report_version", request.ReportVersion, 0, ContractLimits.ReportVersions);
        v.ThrowIfInvalid();
        var consultation = await store.AcknowledgeAsync(NetworkCaller.From(context.GetHttpContext().User).Subject, request, context.CancellationToken);
        LogClosed(logger, request.ConsultationId, consultation.Status);
        return new AcknowledgeReportResponse { Consultation = consultation };
    }

    public override async Task<AnswerInformationRequestResponse> AnswerInformationRequest(AnswerInformationRequestRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        v.Uuid("consultation_id", request.ConsultationId);
        v.Uuid("request_id", request.RequestId);
        v.Text("answer", request.Answer, ContractLimits.InformationAnswer);
        ConsultationValidation.ValidateAttachments(v, "attachments", request.Attachments);
        attachments.Limits.Check(v, "attachments", request.Attachments);
        v.ThrowIfInvalid();
        var consultation = await store.AnswerAsync(NetworkCaller.From(context.GetHttpContext().User).Subject, request, context.CancellationToken);
        await attachments.QueueHeldAsync(consultation, context.CancellationToken);
        await attachments.AddTransfersAsync(consultation, context.CancellationToken);
        LogClosed(logger, request.ConsultationId, consultation.Status);
        return new AnswerInformationRequestResponse { Consultation = consultation };
    }

    public override async Task<UploadAttachmentResponse> UploadAttachment(IAsyncStreamReader<UploadAttachmentRequest> requestStream, ServerCallContext context)
    {
        var consultationId = "";
        var receipt = await AttachmentReceiver.ReceiveAsync(requestStream,
            request => request.Start, request => request.Chunk,
            start =>
            {
                consultationId = start.ConsultationId;
                return attachments.ResolveAsync(start.ConsultationId, start.Sha256Hex, context.CancellationToken);
            },
            file => attachments.QueueForHubAsync(consultationId, file, CancellationToken.None),
            attachments.Blobs, attachments.Limits, "spoke", context);
        LogUploaded(logger, consultationId, receipt.ReceivedBytes, receipt.Descriptor.SizeBytes);
        return new UploadAttachmentResponse { Attachment = await attachments.TransferAsync(consultationId, receipt.Descriptor.Sha256Hex, context.CancellationToken) };
    }

    public override async Task<GetAttachmentUploadResponse> GetAttachmentUpload(GetAttachmentUploadRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        v.Uuid("consultation_id", request.ConsultationId);
        v.Sha256("sha256_hex", request.Sha256Hex);
        v.ThrowIfInvalid();
        return new GetAttachmentUploadResponse { Attachment = await attachments.TransferAsync(request.ConsultationId, request.Sha256Hex, context.CancellationToken) };
    }

    [LoggerMessage(EventId = 2003, Level = LogLevel.Information, Message = "Attached file of consultation {ConsultationId}: {Received} of {Size} bytes held here")]
    private static partial void LogUploaded(ILogger logger, string consultationId, long received, long size);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Information, Message = "Consultation {ConsultationId} is now {Status} here; the change is queued for the hub")]
    private static partial void LogClosed(ILogger logger, string consultationId, ConsultationStatus status);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Consultation {ConsultationId} stored locally and queued for the hub (duplicate: {Duplicate})")]
    private static partial void LogSubmitted(ILogger logger, string consultationId, bool duplicate);
}
