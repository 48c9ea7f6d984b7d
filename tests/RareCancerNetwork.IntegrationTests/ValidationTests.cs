using Grpc.Core;
using RareCancerNetwork.IntegrationTests.Infrastructure;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.IntegrationTests;

/// <summary>Bad input gets INVALID_ARGUMENT naming the field (or RESOURCE_EXHAUSTED for size), stores nothing, and the node keeps serving.</summary>
[Collection(NetworkCollection.Name)]
public sealed class ValidationTests(TestNetwork network)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task LocalSubmit_MissingRequiredFields_NamesEachField_StoresNothing()
    {
        var before = await CountAtSpokeAAsync();
        var request = Samples.Submission();
        request.LocalPatientId = "";
        request.Details.Specimen = null;
        request.Details.LocalDiagnosis.Text = " ";
        request.Details.Question = "";
        request.Details.PatientSex = Sex.Unspecified;
        await RpcAssert.InvalidFieldsAsync(() => network.LocalA().SubmitConsultationAsync(request, cancellationToken: Ct).ResponseAsync,
            "local_patient_id", "details.specimen", "details.local_diagnosis.text", "details.question", "details.patient_sex");
        Assert.Equal(before, await CountAtSpokeAAsync());
    }

    [Theory]
    [InlineData("8850", "details.local_diagnosis.morphology_code")]
    [InlineData("8850/5", "details.local_diagnosis.morphology_code")]
    [InlineData("88503", "details.local_diagnosis.morphology_code")]
    public async Task LocalSubmit_MalformedMorphology_IsInvalid(string code, string field)
    {
        var request = Samples.Submission();
        request.Details.LocalDiagnosis.MorphologyCode = code;
        await RpcAssert.InvalidFieldsAsync(() => network.LocalA().SubmitConsultationAsync(request, cancellationToken: Ct).ResponseAsync, field);
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => network.LocalA().GetConsultationAsync(new() { ConsultationId = request.ConsultationId }, cancellationToken: Ct).ResponseAsync);
    }

    [Fact]
    public async Task LocalSubmit_MalformedCodesIdsAndDates_AreInvalid()
    {
        var request = Samples.Submission();
        request.ConsultationId = "not-a-uuid";
        request.Details.Specimen.TopographyCode = "C49";
        request.Details.Specimen.CollectionDate = "2026/11/10";
        request.Details.PatientAgeYears = 131;
        request.Details.Attachments.Add(new AttachmentDescriptor { FileName = "HE-1.svs", MediaType = "image/tiff", SizeBytes = 1_234_567, Sha256Hex = "XYZ" });
        await RpcAssert.InvalidFieldsAsync(() => network.LocalA().SubmitConsultationAsync(request, cancellationToken: Ct).ResponseAsync,
            "consultation_id", "details.specimen.topography_code", "details.specimen.collection_date", "details.patient_age_years", "details.attachments[0].sha256_hex");
    }

    [Fact]
    public async Task LocalSubmit_UnknownEnumValues_AreInvalid()
    {
        var request = Samples.Submission();
        request.Details.OrganSystem = (OrganSystem)999;
        request.Details.Urgency = (Urgency)42;
        await RpcAssert.InvalidFieldsAsync(() => network.LocalA().SubmitConsultationAsync(request, cancellationToken: Ct).ResponseAsync,
            "details.organ_system", "details.urgency");
    }

    [Fact]
    public async Task LocalSubmit_OversizedText_IsInvalid_OversizedMessage_IsResourceExhausted()
    {
        var before = await CountAtSpokeAAsync();
        var request = Samples.Submission();
        request.Details.ClinicalSummary = new string('腫', 8_001);
        await RpcAssert.InvalidFieldsAsync(() => network.LocalA().SubmitConsultationAsync(request, cancellationToken: Ct).ResponseAsync, "details.clinical_summary");

        var huge = Samples.Submission();
        huge.Details.ClinicalSummary = new string('x', 5 * 1024 * 1024);
        await RpcAssert.FailsAsync(StatusCode.ResourceExhausted, () => network.LocalA().SubmitConsultationAsync(huge, cancellationToken: Ct).ResponseAsync);
        Assert.Equal(before, await CountAtSpokeAAsync());
        // Still serving.
        await network.LocalA().ListConsultationsAsync(new(), cancellationToken: Ct);
    }

    [Fact]
    public async Task LocalSubmit_SameIdDifferentContent_IsAlreadyExists()
    {
        var request = Samples.Submission();
        await network.LocalA().SubmitConsultationAsync(request, cancellationToken: Ct);
        var changed = request.Clone();
        changed.Details.Question = "別の質問です";
        await RpcAssert.FailsAsync(StatusCode.AlreadyExists, () => network.LocalA().SubmitConsultationAsync(changed, cancellationToken: Ct).ResponseAsync);
        var stored = (await network.LocalA().GetConsultationAsync(new() { ConsultationId = request.ConsultationId }, cancellationToken: Ct)).Consultation;
        Assert.Equal(request.Details.Question, stored.Details.Question);
    }

    [Fact]
    public async Task LocalListAndGet_BadInput_IsInvalid()
    {
        await RpcAssert.InvalidFieldsAsync(() => network.LocalA().ListConsultationsAsync(new() { PageSize = 201, Status = (ConsultationStatus)77 }, cancellationToken: Ct).ResponseAsync, "page_size", "status");
        await RpcAssert.InvalidFieldsAsync(() => network.LocalA().ListConsultationsAsync(new() { PageToken = "%%%" }, cancellationToken: Ct).ResponseAsync, "page_token");
        await RpcAssert.InvalidFieldsAsync(() => network.LocalA().GetConsultationAsync(new() { ConsultationId = "" }, cancellationToken: Ct).ResponseAsync, "consultation_id");
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => network.LocalA().GetConsultationAsync(new() { ConsultationId = Guid.CreateVersion7().ToString() }, cancellationToken: Ct).ResponseAsync);
    }

    [Fact]
    public async Task HubDeliver_BadInput_IsInvalid_StoresNothing()
    {
        var sync = network.Sync(network.NodeTokenA);
        var request = new DeliverConsultationRequest
        {
            ConsultationId = Guid.CreateVersion7().ToString(),
            RequestingFacilityCode = TestNetwork.FacilityA,
            PatientPseudonym = "P-000123",
            SubmittedBy = "",
            Details = Samples.Details(),
        };
        request.Details.LocalDiagnosis.MorphologyCode = "abc";
        await RpcAssert.InvalidFieldsAsync(() => sync.DeliverConsultationAsync(request, cancellationToken: Ct).ResponseAsync,
            "patient_pseudonym", "submitted_by", "submitted_at", "details.local_diagnosis.morphology_code");
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => sync.FetchConsultationAsync(new() { ConsultationId = request.ConsultationId }, cancellationToken: Ct).ResponseAsync);
        await RpcAssert.InvalidFieldsAsync(() => sync.FetchConsultationAsync(new() { ConsultationId = "x" }, cancellationToken: Ct).ResponseAsync, "consultation_id");
    }

    [Fact]
    public async Task HubSubscribe_NegativeCursor_IsInvalid()
    {
        using var call = network.Sync(network.NodeTokenA).SubscribeEvents(new() { AfterSequence = -1 }, cancellationToken: Ct);
        await RpcAssert.InvalidFieldsAsync(() => call.ResponseStream.MoveNext(Ct), "after_sequence");
    }

    [Fact]
    public async Task ExpertReport_BadInput_IsInvalid_StoresNothing()
    {
        var submission = Samples.Submission();
        await network.SubmitAndAwaitAssignmentAsync(submission);
        var expert = network.Expert(await network.AssignedExpertTokenAsync(submission.ConsultationId));
        var request = Samples.Report(submission.ConsultationId);
        request.Diagnosis.MorphologyCode = "8850-3";
        request.Concordance = (Concordance)9;
        request.Comment = new string('c', 8_001);
        await RpcAssert.InvalidFieldsAsync(() => expert.SubmitReportAsync(request, cancellationToken: Ct).ResponseAsync,
            "diagnosis.morphology_code", "concordance", "comment");
        var missing = Samples.Report(submission.ConsultationId);
        missing.Diagnosis = null;
        missing.Concordance = Concordance.Unspecified;
        await RpcAssert.InvalidFieldsAsync(() => expert.SubmitReportAsync(missing, cancellationToken: Ct).ResponseAsync, "diagnosis", "concordance");
        var stored = (await expert.GetAssignedConsultationAsync(new() { ConsultationId = submission.ConsultationId }, cancellationToken: Ct)).Consultation;
        Assert.Empty(stored.Reports);
        Assert.Equal(ConsultationStatus.Assigned, stored.Status);

        await RpcAssert.InvalidFieldsAsync(() => expert.ListAssignedConsultationsAsync(new() { PageSize = -1 }, cancellationToken: Ct).ResponseAsync, "page_size");
        await RpcAssert.InvalidFieldsAsync(() => expert.GetAssignedConsultationAsync(new() { ConsultationId = "1" }, cancellationToken: Ct).ResponseAsync, "consultation_id");
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => expert.SubmitReportAsync(Samples.Report(Guid.CreateVersion7().ToString()), cancellationToken: Ct).ResponseAsync);
    }

    private async Task<int> CountAtSpokeAAsync()
    {
        var count = 0;
        var request = new ListConsultationsRequest { PageSize = 200 };
        do
        {
            var page = await network.LocalA().ListConsultationsAsync(request, cancellationToken: Ct);
            count += page.Consultations.Count;
            request.PageToken = page.NextPageToken;
        }
        while (request.PageToken.Length > 0);
        return count;
    }
}
