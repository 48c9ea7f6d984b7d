using System.Globalization;

namespace RareCancerNetwork.Protos.Contract;

/// <summary>One limit of the contract: a field (<c>Message.field</c>), its bounds and their unit.</summary>
public sealed record ContractLimit(string Field, long Minimum, long Maximum, string Unit)
{
    /// <summary>How the proto comment and docs state it, e.g. "at most 8,000 characters".</summary>
    public string Statement => Minimum > 0 && Unit != "characters"
        ? $"{Minimum.ToString("N0", CultureInfo.InvariantCulture)}-{Maximum.ToString("N0", CultureInfo.InvariantCulture)} {Unit}"
        : $"at most {Maximum.ToString("N0", CultureInfo.InvariantCulture)} {Unit}";
}

/// <summary>
/// Every size and range limit the network's services enforce, in one place: validation reads these
/// constants, each field's proto comment states its limit, and docs/contracts.md carries
/// <see cref="ToMarkdown"/>; tests check that the three agree.
/// </summary>
public static class ContractLimits
{
    /// <summary>Largest gRPC message a node accepts (RESOURCE_EXHAUSTED beyond).</summary>
    public const int MaxMessageBytes = 4 * 1024 * 1024;

    public const int DiagnosisText = 2_000;
    public const int ClinicalSummary = 8_000;
    public const int Question = 2_000;
    public const int SiteDescription = 500;
    public const int PersonName = 200;
    public const int LocalPatientId = 64;
    public const int Attachments = 50;
    public const int AttachmentFileName = 255;
    public const long AttachmentBytes = 64L * 1024 * 1024 * 1024;
    /// <summary>Largest piece of an attached file in one message: well under <see cref="MaxMessageBytes"/>.</summary>
    public const int AttachmentChunkBytes = 1024 * 1024;
    public const int AncillaryTests = 20;
    public const int AncillaryTestName = 200;
    public const int ReportComment = 8_000;
    public const int AmendmentReason = 2_000;
    public const int ReportVersions = 10_000;
    public const int PatientAgeYears = 130;
    public const int ConsultationPageSize = 200;
    public const int DirectoryPageSize = 500;
    public const int DirectoryPullPageSize = 1_000;
    public const int TrialArms = 30;
    public const int TumourTypes = 50;
    public const int CombinedBiomarkerCriteria = 20;
    public const int ReferralReason = 2_000;
    public const int WithdrawalReason = 2_000;
    public const int InformationQuestion = 2_000;
    public const int DeclineComment = 2_000;
    public const int InformationAnswer = 8_000;
    public const int ReferralNote = 4_000;
    public const int ReferralPageSize = 200;
    public const int AuditEntriesPerForward = 500;
    public const int PageToken = 200;

    public const int RegistryRecordsPerDelivery = 500;
    public const int ConsultationsPerDelivery = 100;
    public const int RegistryShortText = 200;
    public const int PanelTests = 20;
    public const int Biomarkers = 100;
    public const int TreatmentLines = 50;
    public const int RegistryPageSize = 200;
    public const int DataQueryField = 200;
    public const int DataQueryText = 2_000;

    public const int HotlineMinutes = 600;
    public const int HotlineCancerDescription = 200;
    public const int HotlineNotes = 8_000;
    public const int HotlineSuggestedFacilities = 10;
    public const int CallbackName = 100;
    public const int CallbackPhone = 30;
    public const int CallbackWhen = 200;
    public const int HotlineSearchText = 200;
    public const int HotlinePageSize = 200;
    public const int FacilitySuggestions = 100;
    public static readonly int HotlineTopicCount = System.Enum.GetValues<RareCancerNetwork.Protos.V1.HotlineTopic>().Length - 1;
    public static readonly int HotlineOutcomeCount = System.Enum.GetValues<RareCancerNetwork.Protos.V1.HotlineOutcome>().Length - 1;

    /// <summary>Open consultations an expert takes at once (set when the expert is registered).</summary>
    public const int ExpertCapacity = 1_000;

    public static readonly IReadOnlyList<ContractLimit> All =
    [
        new("DeliverRegistryRecordsRequest.records", 1, RegistryRecordsPerDelivery, "entries"),
        new("DeliverConsultationsRequest.consultations", 1, ConsultationsPerDelivery, "entries"),
        new("ImportRegistryRecordsRequest.records", 1, RegistryRecordsPerDelivery, "entries"),
        new("RegistryRecord.age_at_enrolment", 0, PatientAgeYears, "years"),
        new("RegistryRecord.panel_tests", 0, PanelTests, "entries"),
        new("RegistryRecord.biomarkers", 0, Biomarkers, "entries"),
        new("RegistryRecord.treatment_lines", 0, TreatmentLines, "entries"),
        new("PanelTest.panel_name", 1, RegistryShortText, "characters"),
        new("Biomarker.detail", 0, RegistryShortText, "characters"),
        new("TreatmentLine.regimen", 1, RegistryShortText, "characters"),
        new("CreateRegistryRecordRequest.local_patient_id", 1, LocalPatientId, "characters"),
        new("ListRegistryRecordsRequest.page_size", 0, RegistryPageSize, "entries"),
        new("ExportRegistryRecordsRequest.page_size", 0, RegistryPageSize, "entries"),
        new("ExportNationalRegistryRequest.page_size", 0, RegistryPageSize, "entries"),
        new("ListRegistryRecordsRequest.page_token", 0, PageToken, "characters"),
        new("ListNationalRegistryRecordsRequest.page_size", 0, RegistryPageSize, "entries"),
        new("RaiseDataQueryRequest.field", 1, DataQueryField, "characters"),
        new("RaiseDataQueryRequest.question", 1, DataQueryText, "characters"),
        new("AnswerDataQueryRequest.comment", 1, DataQueryText, "characters"),
        new("ConfirmDataQueryValueRequest.comment", 1, DataQueryText, "characters"),
        new("ListDataQueriesRequest.page_size", 0, RegistryPageSize, "entries"),
        new("ListLocalDataQueriesRequest.page_size", 0, RegistryPageSize, "entries"),
        new("Diagnosis.text", 1, DiagnosisText, "characters"),
        new("Specimen.site_description", 0, SiteDescription, "characters"),
        new("AttachmentDescriptor.file_name", 1, AttachmentFileName, "characters"),
        new("AttachmentDescriptor.size_bytes", 1, AttachmentBytes, "bytes"),
        new("AttachmentChunk.data", 1, AttachmentChunkBytes, "bytes"),
        new("ConsultationDetails.patient_age_years", 0, PatientAgeYears, "years"),
        new("ConsultationDetails.clinical_summary", 1, ClinicalSummary, "characters"),
        new("ConsultationDetails.question", 1, Question, "characters"),
        new("ConsultationDetails.attachments", 0, Attachments, "entries"),
        new("ConsultationDetails.requesting_pathologist_name", 1, PersonName, "characters"),
        new("SubmitConsultationRequest.local_patient_id", 1, LocalPatientId, "characters"),
        new("ListConsultationsRequest.page_size", 0, ConsultationPageSize, "entries"),
        new("ListAssignedConsultationsRequest.page_size", 0, ConsultationPageSize, "entries"),
        new("SubmitReportRequest.recommended_ancillary_tests", 0, AncillaryTests, "entries"),
        new("SubmitReportRequest.comment", 0, ReportComment, "characters"),
        new("SubmitReportRequest.replaces_version", 0, ReportVersions, "versions"),
        new("SubmitReportRequest.amendment_reason", 0, AmendmentReason, "characters"),
        new("ListFacilitiesRequest.page_size", 0, DirectoryPageSize, "entries"),
        new("PullDirectoryRequest.page_size", 0, DirectoryPullPageSize, "entries"),
        new("Trial.arms", 1, TrialArms, "arms"),
        new("Eligibility.tumour_types", 0, TumourTypes, "entries"),
        new("BiomarkerCriteria.criteria", 1, CombinedBiomarkerCriteria, "entries"),
        new("ForwardAuditEntriesRequest.entries", 1, AuditEntriesPerForward, "entries"),
        new("DeliverConsultationWithdrawalRequest.reason", 1, WithdrawalReason, "characters"),
        new("InformationRequest.question", 1, InformationQuestion, "characters"),
        new("DeclineConsultationRequest.comment", 0, DeclineComment, "characters"),
        new("ReviewReportRequest.comment", 0, DeclineComment, "characters"),
        new("InformationRequest.answer", 0, InformationAnswer, "characters"),
        new("InformationRequest.answer_attachments", 0, Attachments, "entries"),
        new("RequestInformationRequest.question", 1, InformationQuestion, "characters"),
        new("DeliverInformationAnswerRequest.answer", 1, InformationAnswer, "characters"),
        new("DeliverInformationAnswerRequest.attachments", 0, Attachments, "entries"),
        new("AnswerInformationRequestRequest.answer", 1, InformationAnswer, "characters"),
        new("AnswerInformationRequestRequest.attachments", 0, Attachments, "entries"),
        new("WithdrawConsultationRequest.reason", 1, WithdrawalReason, "characters"),
        new("Referral.reason", 1, ReferralReason, "characters"),
        new("Referral.note", 0, ReferralNote, "characters"),
        new("Referral.clinical_summary", 0, ClinicalSummary, "characters"),
        new("ReferralTransition.reason", 0, ReferralReason, "characters"),
        new("ReferralTransition.note", 0, ReferralNote, "characters"),
        new("CreateReferralRequest.reason", 1, ReferralReason, "characters"),
        new("CreateReferralRequest.note", 0, ReferralNote, "characters"),
        new("CreateReferralRequest.clinical_summary", 0, ClinicalSummary, "characters"),
        new("ReferFromTrialMatchRequest.reason", 0, ReferralReason, "characters"),
        new("ReferFromTrialMatchRequest.note", 0, ReferralNote, "characters"),
        new("ActOnIncomingReferralRequest.reason", 0, ReferralReason, "characters"),
        new("ActOnIncomingReferralRequest.note", 0, ReferralNote, "characters"),
        new("CancelReferralRequest.reason", 1, ReferralReason, "characters"),
        new("ListReferralsRequest.page_size", 0, ReferralPageSize, "entries"),
        new("HotlineCallEntry.duration_minutes", 1, HotlineMinutes, "minutes"),
        new("HotlineCallEntry.cancer_description", 0, HotlineCancerDescription, "characters"),
        new("HotlineCallEntry.topics", 1, HotlineTopicCount, "entries"),
        new("HotlineCallEntry.notes", 0, HotlineNotes, "characters"),
        new("HotlineCallEntry.outcomes", 1, HotlineOutcomeCount, "entries"),
        new("HotlineCallEntry.suggested_facility_codes", 0, HotlineSuggestedFacilities, "entries"),
        new("CallbackContact.name", 0, CallbackName, "characters"),
        new("CallbackContact.phone", 1, CallbackPhone, "characters"),
        new("CallbackContact.when_to_call", 0, CallbackWhen, "characters"),
        new("SearchHotlineCallsRequest.text", 0, HotlineSearchText, "characters"),
        new("SearchHotlineCallsRequest.page_size", 0, HotlinePageSize, "entries"),
        new("SuggestFacilitiesRequest.limit", 0, FacilitySuggestions, "entries"),
        new("ReferFromHotlineCallRequest.local_patient_id", 1, LocalPatientId, "characters"),
        new("ReferFromHotlineCallRequest.reason", 1, ReferralReason, "characters"),
    ];

    private static readonly string[] MarkdownHeader = ["| field | limit |", "|---|---|"];

    /// <summary>The table in docs/contracts.md.</summary>
    public static string ToMarkdown() => string.Join('\n',
        MarkdownHeader
            .Concat(All.Select(limit => $"| `{limit.Field}` | {limit.Statement} |"))
            .Append($"| any message | at most {MaxMessageBytes.ToString("N0", CultureInfo.InvariantCulture)} bytes (RESOURCE_EXHAUSTED beyond) |")
            .Append($"| an expert's open consultations (`register-expert --capacity`) | at most {ExpertCapacity.ToString("N0", CultureInfo.InvariantCulture)} |"));
}
