using Grpc.Core;
using RareCancerNetwork.Node.Attachments;
using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Node.Validation;
using RareCancerNetwork.Protos.Contract;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Hub.Consultations;

/// <summary>Expert pathologists: their assigned cases and signed reports. The expert is the token's subject.</summary>
public sealed partial class ExpertConsultationGrpcService(ConsultationStore store, HubAttachments attachments, ILogger<ExpertConsultationGrpcService> logger)
    : ExpertConsultationService.ExpertConsultationServiceBase
{
    public override async Task<ListAssignedConsultationsResponse> ListAssignedConsultations(ListAssignedConsultationsRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        v.OptionalEnum("status", request.Status);
        var pageSize = v.PageSize("page_size", request.PageSize, 50, ContractLimits.ConsultationPageSize);
        v.Text("page_token", request.PageToken, ContractLimits.PageToken, required: false);
        v.ThrowIfInvalid();
        var expert = Expert(context);
        var (page, next) = await store.ListAssignedAsync(expert.ExpertId!, request.Status, pageSize, request.PageToken, context.CancellationToken);
        var response = new ListAssignedConsultationsResponse { NextPageToken = next };
        response.Consultations.AddRange(page);
        return response;
    }

    public override async Task<GetAssignedConsultationResponse> GetAssignedConsultation(GetAssignedConsultationRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        v.Uuid("consultation_id", request.ConsultationId);
        v.ThrowIfInvalid();
        var consultation = await store.GetAssignedAsync(Expert(context).ExpertId!, request.ConsultationId, context.CancellationToken);
        await attachments.AddTransfersAsync(consultation, context.CancellationToken);
        return new GetAssignedConsultationResponse { Consultation = consultation };
    }

    public override async Task DownloadAttachment(DownloadAttachmentRequest request, IServerStreamWriter<DownloadAttachmentResponse> responseStream, ServerCallContext context)
    {
        var v = new FieldValidator();
        v.Uuid("consultation_id", request.ConsultationId);
        v.Sha256("sha256_hex", request.Sha256Hex);
        v.Range("offset", request.Offset, 0, ContractLimits.AttachmentBytes);
        v.ThrowIfInvalid();
        var descriptor = await attachments.ResolveForExpertAsync(Expert(context).ExpertId!, request.ConsultationId, request.Sha256Hex, context.CancellationToken);
        if (request.Offset > descriptor.SizeBytes)
        {
            v.Add("offset", $"is {request.Offset:N0}; the file has {descriptor.SizeBytes:N0} bytes");
            v.ThrowIfInvalid();
        }
        var blob = attachments.Blobs.CompletePath(descriptor.Sha256Hex);
        await AttachmentSender.SendAsync(blob, request.Offset, chunk => responseStream.WriteAsync(new DownloadAttachmentResponse { Chunk = chunk }, context.CancellationToken),
            sent: null, context.CancellationToken);
        LogDownloaded(logger, request.ConsultationId, descriptor.SizeBytes - request.Offset);
    }

    public override async Task<SubmitReportResponse> SubmitReport(SubmitReportRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        v.Uuid("consultation_id", request.ConsultationId);
        ConsultationValidation.ValidateDiagnosis(v, "diagnosis", request.Diagnosis);
        v.Enum("concordance", request.Concordance);
        if (request.RecommendedAncillaryTests.Count > ContractLimits.AncillaryTests)
        {
            v.Add("recommended_ancillary_tests", $"has {request.RecommendedAncillaryTests.Count} entries; the limit is {ContractLimits.AncillaryTests}");
        }
        for (var i = 0; i < request.RecommendedAncillaryTests.Count; i++)
        {
            v.Text($"recommended_ancillary_tests[{i}]", request.RecommendedAncillaryTests[i], ContractLimits.AncillaryTestName);
        }
        v.Text("comment", request.Comment, ContractLimits.ReportComment, required: false);
        v.Range("replaces_version", request.ReplacesVersion, 0, ContractLimits.ReportVersions);
        v.Text("amendment_reason", request.AmendmentReason, ContractLimits.AmendmentReason, required: false);
        if (request.RequestSecondReview && request.Concordance != Concordance.MajorDiscordance)
        {
            v.Add("request_second_review", "applies to reports of major discordance only");
        }
        v.ThrowIfInvalid();
        var expert = Expert(context);
        if (request.RequestSecondReview)
        {
            var (draft, reviewer) = await store.SubmitForSecondReviewAsync(expert.ExpertId!, expert.DisplayName, request, context.CancellationToken);
            return new SubmitReportResponse { Report = draft, ReviewerExpertId = reviewer };
        }
        var report = await store.SubmitReportAsync(expert.ExpertId!, expert.DisplayName, request, context.CancellationToken);
        LogReportIssued(logger, report.ConsultationId, report.Version, expert.ExpertId!);
        return new SubmitReportResponse { Report = report };
    }

    public override async Task<RequestInformationResponse> RequestInformation(RequestInformationRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        v.Uuid("consultation_id", request.ConsultationId);
        v.Uuid("request_id", request.RequestId);
        v.Text("question", request.Question, ContractLimits.InformationQuestion);
        v.ThrowIfInvalid();
        var expert = Expert(context);
        var (asked, duplicate) = await store.RequestInformationAsync(expert.ExpertId!, expert.DisplayName, request, context.CancellationToken);
        return new RequestInformationResponse { Request = asked, Duplicate = duplicate };
    }

    public override async Task<DeclineConsultationResponse> DeclineConsultation(DeclineConsultationRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        v.Uuid("consultation_id", request.ConsultationId);
        v.Enum("reason", request.Reason);
        v.Text("comment", request.Comment, ContractLimits.DeclineComment, required: request.Reason == DeclineReason.Other);
        v.ThrowIfInvalid();
        var next = await store.DeclineAsync(Expert(context).ExpertId!, request, context.CancellationToken);
        return new DeclineConsultationResponse { NextExpertId = next ?? "" };
    }

    public override async Task<ListSecondReviewsResponse> ListSecondReviews(ListSecondReviewsRequest request, ServerCallContext context)
    {
        var reviews = await store.SecondReviewsAsync(Expert(context).ExpertId!, context.CancellationToken);
        foreach (var consultation in reviews)
        {
            // The reviewer examines the same slides.
            await attachments.AddTransfersAsync(consultation, context.CancellationToken);
        }
        return new ListSecondReviewsResponse { Consultations = { reviews } };
    }

    public override async Task<ReviewReportResponse> ReviewReport(ReviewReportRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        v.Uuid("consultation_id", request.ConsultationId);
        v.Text("comment", request.Comment, ContractLimits.DeclineComment, required: !request.Approve);
        v.ThrowIfInvalid();
        var expert = Expert(context);
        var (status, report) = await store.ReviewAsync(expert.ExpertId!, expert.DisplayName, request, context.CancellationToken);
        if (report is not null)
        {
            LogReportIssued(logger, report.ConsultationId, report.Version, report.SignedByExpertId);
        }
        return new ReviewReportResponse { Status = status, Report = report };
    }

    private static NetworkCaller Expert(ServerCallContext context) => NetworkCaller.From(context.GetHttpContext().User);

    [LoggerMessage(EventId = 1301, Level = LogLevel.Information, Message = "Report version {Version} issued for consultation {ConsultationId} by expert {ExpertId}")]
    private static partial void LogReportIssued(ILogger logger, string consultationId, int version, string expertId);

    [LoggerMessage(EventId = 3302, Level = LogLevel.Information, Message = "An expert downloaded {Bytes} bytes of an attached file of consultation {ConsultationId}")]
    private static partial void LogDownloaded(ILogger logger, string consultationId, long bytes);
}
