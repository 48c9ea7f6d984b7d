using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using RareCancerNetwork.IntegrationTests.Infrastructure;
using RareCancerNetwork.Node.Audit;
using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.IntegrationTests;

/// <summary>Every patient-level RPC leaves exactly the expected audit entry; refusals are audited; trails reach the hub.</summary>
[Collection(NetworkCollection.Name)]
public sealed class AuditTests(TestNetwork network)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task EveryPatientLevelRpc_LeavesExactlyOneEntry_NamingWhoWhatAndWhere()
    {
        var submission = Samples.Submission();
        await network.SubmitAndAwaitAssignmentAsync(submission);
        var id = submission.ConsultationId;
        var expertToken = await network.AssignedExpertTokenAsync(id);
        var expertId = expertToken == network.ExpertToken1 ? "expert-expert-one" : "expert-expert-two";
        var hubLog = network.Hub.Services.GetRequiredService<AuditLog>();
        var spokeLog = network.SpokeA.Services.GetRequiredService<AuditLog>();

        var record = RareCancerNetwork.Tests.Shared.RegistrySamples.Record(TestNetwork.FacilityA);
        await network.RegistryA().CreateRegistryRecordAsync(new() { LocalPatientId = "AUDIT-REG", Record = record }, cancellationToken: Ct);
        var r = record.RecordId;
        var adminId = $"admin-{Guid.CreateVersion7():N}"[..20];
        var admin = await People.AddAndSignInAsync(network.Hub, Path.GetTempPath(), adminId, NetworkClaims.Roles.Administrator, "CORE-004");
        var withdrawnAtHub = RareCancerNetwork.Tests.Shared.RegistrySamples.Record(TestNetwork.FacilityA);
        await new RegistrySyncService.RegistrySyncServiceClient(network.HubChannel(network.NodeTokenA))
            .DeliverRegistryRecordsAsync(new() { Records = { withdrawnAtHub } }, cancellationToken: Ct);
        var withdrawnAtSpoke = RareCancerNetwork.Tests.Shared.RegistrySamples.Record(TestNetwork.FacilityA);
        withdrawnAtSpoke.Consent.RegistryParticipation = false;
        await network.RegistryA().CreateRegistryRecordAsync(new() { LocalPatientId = "AUDIT-WITHDRAW", Record = withdrawnAtSpoke }, cancellationToken: Ct);
        var dataManagerId = $"dm-{Guid.CreateVersion7():N}"[..20];
        var dataManagerChannel = network.HubChannel(
            await People.AddAndSignInAsync(network.Hub, Path.GetTempPath(), dataManagerId, NetworkClaims.Roles.RegistryDataManager, "CORE-004"));
        var dataManager = new RegistryDataManagementService.RegistryDataManagementServiceClient(dataManagerChannel);
        await Eventually.UntilAsync(async () => (await network.RegistryA().GetRegistryRecordAsync(new() { RecordId = r }, cancellationToken: Ct)).Record.SyncState,
            state => state == RegistrySyncState.Synchronised, "the record at the hub");
        RaiseDataQueryRequest Query() => new() { QueryId = Guid.CreateVersion7().ToString(), RecordId = r, Field = "ecog", Question = "ECOG を確認してください" };
        var raised = Query();
        var answeredByNode = (await dataManager.RaiseDataQueryAsync(Query(), cancellationToken: Ct)).Query.QueryId;
        var confirmedAtSpoke = (await dataManager.RaiseDataQueryAsync(Query(), cancellationToken: Ct)).Query.QueryId;
        await Eventually.UntilAsync(async () => (await network.RegistryA().ListLocalDataQueriesAsync(new() { RecordId = r }, cancellationToken: Ct)).Queries,
            queries => queries.Any(q => q.Query.QueryId == confirmedAtSpoke), "the query at the spoke");
        // Referrals: one to a Tokyo hospital (spoke A serves it, so A also receives it), one to cancel, one from a trial match.
        await network.Hub.LoadExampleTrialsAsync();
        CreateReferralRequest Referral() => new()
        {
            ReferralId = Guid.CreateVersion7().ToString(), Target = new ReferralTarget { FacilityCode = "CORE-011" }, LocalPatientId = "AUDIT-REF",
            Reason = "専門施設での評価", Urgency = Urgency.Routine,
        };
        var referral = Referral();
        var toCancel = Referral();
        await network.ReferralsA().CreateReferralAsync(toCancel, cancellationToken: Ct);
        var fromMatch = Guid.CreateVersion7().ToString();
        await Eventually.UntilAsync(async () => (await network.DirectoryA().ListLocalTrialsAsync(new(), cancellationToken: Ct)).Trials.Count,
            count => count == 4, "the catalogue at spoke A");
        // A consultation to withdraw, and one whose report to acknowledge.
        var toWithdraw = Samples.Submission();
        await network.SubmitAndAwaitAssignmentAsync(toWithdraw);
        var toAcknowledge = Samples.Submission();
        await network.SubmitAndAwaitAssignmentAsync(toAcknowledge);
        var acknowledged = toAcknowledge.ConsultationId;
        await network.Expert(await network.AssignedExpertTokenAsync(acknowledged)).SubmitReportAsync(Samples.Report(acknowledged), cancellationToken: Ct);
        await Eventually.UntilAsync(async () => (await network.LocalA().GetConsultationAsync(new() { ConsultationId = acknowledged }, cancellationToken: Ct)).Consultation.Reports.Count,
            count => count == 1, "the report at spoke A");
        // A consultation its expert asks about.
        var asked = Samples.Submission();
        await network.SubmitAndAwaitAssignmentAsync(asked);
        var askingExpert = network.Expert(await network.AssignedExpertTokenAsync(asked.ConsultationId));
        var askingExpertId = await network.AssignedExpertTokenAsync(asked.ConsultationId) == network.ExpertToken1 ? "expert-expert-one" : "expert-expert-two";
        var question = new RequestInformationRequest { ConsultationId = asked.ConsultationId, RequestId = Guid.CreateVersion7().ToString(), Question = "追加の免疫染色" };
        // A consultation its expert declines.
        var declined = Samples.Submission();
        await network.SubmitAndAwaitAssignmentAsync(declined);
        var decliningToken = await network.AssignedExpertTokenAsync(declined.ConsultationId);
        var decliningId = decliningToken == network.ExpertToken1 ? "expert-expert-one" : "expert-expert-two";
        // A report held for a second review, and its reviewer.
        var reviewed = Samples.Submission();
        await network.SubmitAndAwaitAssignmentAsync(reviewed);
        var reviewAuthorToken = await network.AssignedExpertTokenAsync(reviewed.ConsultationId);
        var (reviewerToken, reviewerId) = reviewAuthorToken == network.ExpertToken1 ? (network.ExpertToken2, "expert-expert-two") : (network.ExpertToken1, "expert-expert-one");
        var major = Samples.Report(reviewed.ConsultationId);
        major.Concordance = Concordance.MajorDiscordance;
        major.RequestSecondReview = true;
        await network.Expert(reviewAuthorToken).SubmitReportAsync(major, cancellationToken: Ct);
        // A consultation with a slide: uploaded to the spoke, sent on by the node, downloaded by its (bone) expert.
        using var files = new TempFolder("rcn-audit-files");
        var (slidePath, slide) = await AttachmentFiles.RandomAsync(files.Path, 100_000, "audit.svs");
        var withSlide = Samples.Submission(organ: OrganSystem.Bone);
        withSlide.Details.Attachments.Add(slide);
        await network.LocalA().SubmitConsultationAsync(withSlide, cancellationToken: Ct);
        var slideId = withSlide.ConsultationId;
        // Hotline: a call at spoke A (recorded, amended, read, searched, referred from) and one at the hub's central hotline.
        var hotlineA = new LocalHotlineService.LocalHotlineServiceClient(Clients.Channel(network.SpokeA.Url, network.SpokeA.CaPath, network.LocalTokenA));
        var centralId = $"central-{Guid.CreateVersion7():N}"[..20];
        var central = new HotlineService.HotlineServiceClient(network.HubChannel(
            await People.AddAndSignInAsync(network.Hub, Path.GetTempPath(), centralId, NetworkClaims.Roles.CentralHotlineCounsellor, "CORE-011")));
        HotlineCallEntry Hotline() => new()
        {
            StartedAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(-5)), DurationMinutes = 10,
            Channel = HotlineChannel.Phone, CallerRelation = CallerRelation.Patient, PatientAgeBand = AgeBand.NotTold, CancerCategory = OrganSystem.Bone,
            Topics = { HotlineTopic.SecondOpinion }, Notes = "監査の確認", Outcomes = { HotlineOutcome.InformationGiven },
        };
        var hotlineCall = Guid.CreateVersion7().ToString();
        var referredCall = (await hotlineA.RecordLocalHotlineCallAsync(new() { CallId = Guid.CreateVersion7().ToString(), Entry = Hotline() }, cancellationToken: Ct)).Call.Call.CallId;
        var centralCall = Guid.CreateVersion7().ToString();
        var calls = new (string Method, AuditLog Log, string User, string Action, string ObjectId, Func<Task> Call)[]
        {
            ("/rarecancer.network.v1.LocalHotlineService/RecordLocalHotlineCall", spokeLog, "local-spoke-a-pathology", "C", hotlineCall,
                async () => await hotlineA.RecordLocalHotlineCallAsync(new() { CallId = hotlineCall, Entry = Hotline() }, cancellationToken: Ct)),
            ("/rarecancer.network.v1.LocalHotlineService/AmendLocalHotlineCall", spokeLog, "local-spoke-a-pathology", "U", hotlineCall,
                async () => await hotlineA.AmendLocalHotlineCallAsync(new() { CallId = hotlineCall, ExpectedRevision = 1, Entry = Hotline() }, cancellationToken: Ct)),
            ("/rarecancer.network.v1.LocalHotlineService/GetLocalHotlineCall", spokeLog, "local-spoke-a-pathology", "R", hotlineCall,
                async () => await hotlineA.GetLocalHotlineCallAsync(new() { CallId = hotlineCall }, cancellationToken: Ct)),
            ("/rarecancer.network.v1.LocalHotlineService/SearchLocalHotlineCalls", spokeLog, "local-spoke-a-pathology", "R", "",
                async () => await hotlineA.SearchLocalHotlineCallsAsync(new() { Query = new() { Text = "監査" } }, cancellationToken: Ct)),
            ("/rarecancer.network.v1.LocalHotlineService/ReferFromHotlineCall", spokeLog, "local-spoke-a-pathology", "C", referredCall,
                async () => await hotlineA.ReferFromHotlineCallAsync(new()
                {
                    CallId = referredCall, ExpectedRevision = 1, ReferralId = Guid.CreateVersion7().ToString(), FacilityCode = "CORE-011", LocalPatientId = "AUDIT-HOTLINE",
                    Reason = "ホットラインから紹介", Urgency = Urgency.Routine,
                }, cancellationToken: Ct)),
            ("/rarecancer.network.v1.HotlineService/RecordHotlineCall", hubLog, centralId, "C", centralCall,
                async () => await central.RecordHotlineCallAsync(new() { CallId = centralCall, Entry = Hotline() }, cancellationToken: Ct)),
            ("/rarecancer.network.v1.HotlineService/AmendHotlineCall", hubLog, centralId, "U", centralCall,
                async () => await central.AmendHotlineCallAsync(new() { CallId = centralCall, ExpectedRevision = 1, Entry = Hotline() }, cancellationToken: Ct)),
            ("/rarecancer.network.v1.HotlineService/GetHotlineCall", hubLog, centralId, "R", centralCall,
                async () => await central.GetHotlineCallAsync(new() { CallId = centralCall }, cancellationToken: Ct)),
            ("/rarecancer.network.v1.HotlineService/SearchHotlineCalls", hubLog, centralId, "R", "",
                async () => await central.SearchHotlineCallsAsync(new() { Text = "監査" }, cancellationToken: Ct)),
            ("/rarecancer.network.v1.LocalConsultationService/UploadAttachment", spokeLog, "local-spoke-a-pathology", "C", slideId,
                async () => await AttachmentFiles.UploadAsync(network.LocalA(), slideId, slidePath, slide)),
            ("/rarecancer.network.v1.LocalConsultationService/GetAttachmentUpload", spokeLog, "local-spoke-a-pathology", "R", slideId, async () =>
            {
                // Once assigned, the spoke's own worker is done with the slide: the receipt asked for next is this test's alone.
                await Eventually.UntilAsync(async () => (await network.LocalA().GetConsultationAsync(new() { ConsultationId = slideId }, cancellationToken: Ct)).Consultation.Status,
                    status => status == ConsultationStatus.Assigned, "the consultation with a slide assigned");
                await network.LocalA().GetAttachmentUploadAsync(new() { ConsultationId = slideId, Sha256Hex = slide.Sha256Hex }, cancellationToken: Ct);
            }),
            ("/rarecancer.network.v1.SpokeSyncService/GetAttachmentReceipt", hubLog, "node-spoke-a", "R", slideId, async () =>
                await network.Sync(network.NodeTokenA).GetAttachmentReceiptAsync(new() { ConsultationId = slideId, Sha256Hex = slide.Sha256Hex }, cancellationToken: Ct)),
            ("/rarecancer.network.v1.ExpertConsultationService/DownloadAttachment", hubLog, "expert-bone-expert", "R", slideId,
                async () => await AttachmentFiles.DownloadAsync(network.Expert(network.BoneExpertToken), slideId, slide, files.Sub("downloaded.svs"))),
            ("/rarecancer.network.v1.ExpertConsultationService/ListSecondReviews", hubLog, reviewerId, "R", "",
                async () => await network.Expert(reviewerToken).ListSecondReviewsAsync(new(), cancellationToken: Ct)),
            ("/rarecancer.network.v1.ExpertConsultationService/ReviewReport", hubLog, reviewerId, "U", reviewed.ConsultationId,
                async () => await network.Expert(reviewerToken).ReviewReportAsync(new() { ConsultationId = reviewed.ConsultationId, Approve = true }, cancellationToken: Ct)),
            ("/rarecancer.network.v1.ExpertConsultationService/DeclineConsultation", hubLog, decliningId, "U", declined.ConsultationId,
                async () => await network.Expert(decliningToken).DeclineConsultationAsync(new() { ConsultationId = declined.ConsultationId, Reason = DeclineReason.OverCapacity },
                    cancellationToken: Ct)),
            ("/rarecancer.network.v1.ExpertConsultationService/RequestInformation", hubLog, askingExpertId, "C", asked.ConsultationId, async () =>
            {
                await askingExpert.RequestInformationAsync(question, cancellationToken: Ct);
                await Eventually.UntilAsync(async () => (await network.LocalA().GetConsultationAsync(new() { ConsultationId = asked.ConsultationId }, cancellationToken: Ct))
                    .Consultation.InformationRequests.Count, count => count == 1, "the request at spoke A");
            }),
            ("/rarecancer.network.v1.LocalConsultationService/AnswerInformationRequest", spokeLog, "local-spoke-a-pathology", "U", asked.ConsultationId,
                async () => await network.LocalA().AnswerInformationRequestAsync(new() { ConsultationId = asked.ConsultationId, RequestId = question.RequestId, Answer = "実施しました" },
                    cancellationToken: Ct)),
            ("/rarecancer.network.v1.LocalConsultationService/WithdrawConsultation", spokeLog, "local-spoke-a-pathology", "D", toWithdraw.ConsultationId,
                async () => await network.LocalA().WithdrawConsultationAsync(new() { ConsultationId = toWithdraw.ConsultationId, Reason = "取り下げ" }, cancellationToken: Ct)),
            ("/rarecancer.network.v1.LocalConsultationService/AcknowledgeReport", spokeLog, "local-spoke-a-pathology", "U", acknowledged,
                async () => await network.LocalA().AcknowledgeReportAsync(new() { ConsultationId = acknowledged }, cancellationToken: Ct)),
            ("/rarecancer.network.v1.LocalReferralService/CreateReferral", spokeLog, "local-spoke-a-pathology", "C", referral.ReferralId, async () =>
            {
                await network.ReferralsA().CreateReferralAsync(referral, cancellationToken: Ct);
                await Eventually.UntilAsync(async () => (await network.ReferralsA().ListReferralsAsync(new() { Direction = ReferralDirection.Incoming }, cancellationToken: Ct)).Referrals,
                    all => all.Any(r => r.Referral.ReferralId == referral.ReferralId), "the referral routed back to spoke A");
            }),
            ("/rarecancer.network.v1.LocalReferralService/ReferFromTrialMatch", spokeLog, "local-spoke-a-pathology", "C", fromMatch,
                async () => await network.ReferralsA().ReferFromTrialMatchAsync(new()
                {
                    ReferralId = fromMatch, RegistryRecordId = r, Urgency = Urgency.Routine, TrialArm = new TrialArmTarget { TrialId = "jRCT2031990104", ArmId = "A" },
                }, cancellationToken: Ct)),
            ("/rarecancer.network.v1.LocalReferralService/ListReferrals", spokeLog, "local-spoke-a-pathology", "R", "",
                async () => await network.ReferralsA().ListReferralsAsync(new(), cancellationToken: Ct)),
            ("/rarecancer.network.v1.LocalReferralService/GetReferral", spokeLog, "local-spoke-a-pathology", "R", referral.ReferralId,
                async () => await network.ReferralsA().GetReferralAsync(new() { ReferralId = referral.ReferralId }, cancellationToken: Ct)),
            ("/rarecancer.network.v1.LocalReferralService/ActOnIncomingReferral", spokeLog, "local-spoke-a-pathology", "U", referral.ReferralId,
                async () => await network.ReferralsA().ActOnIncomingReferralAsync(new() { ReferralId = referral.ReferralId, Action = ReferralAction.Receive }, cancellationToken: Ct)),
            ("/rarecancer.network.v1.LocalReferralService/CancelReferral", spokeLog, "local-spoke-a-pathology", "U", toCancel.ReferralId,
                async () => await network.ReferralsA().CancelReferralAsync(new() { ReferralId = toCancel.ReferralId, Reason = "不要" }, cancellationToken: Ct)),
            ("/rarecancer.network.v1.RegistryDataManagementService/ListNationalRegistryRecords", hubLog, dataManagerId, "R", "",
                async () => await dataManager.ListNationalRegistryRecordsAsync(new(), cancellationToken: Ct)),
            ("/rarecancer.network.v1.RegistryDataManagementService/GetNationalRegistryRecord", hubLog, dataManagerId, "R", r,
                async () => await dataManager.GetNationalRegistryRecordAsync(new() { RecordId = r }, cancellationToken: Ct)),
            ("/rarecancer.network.v1.RegistryDataManagementService/RaiseDataQuery", hubLog, dataManagerId, "C", raised.QueryId,
                async () => await dataManager.RaiseDataQueryAsync(raised, cancellationToken: Ct)),
            ("/rarecancer.network.v1.RegistryDataManagementService/CancelDataQuery", hubLog, dataManagerId, "U", raised.QueryId,
                async () => await dataManager.CancelDataQueryAsync(new() { QueryId = raised.QueryId }, cancellationToken: Ct)),
            ("/rarecancer.network.v1.RegistryDataManagementService/ListDataQueries", hubLog, dataManagerId, "R", "",
                async () => await dataManager.ListDataQueriesAsync(new(), cancellationToken: Ct)),
            ("/rarecancer.network.v1.RegistrySyncService/AnswerDataQuery", hubLog, "node-spoke-a", "U", answeredByNode, async () =>
                await new RegistrySyncService.RegistrySyncServiceClient(network.HubChannel(network.NodeTokenA))
                    .AnswerDataQueryAsync(new() { QueryId = answeredByNode, Comment = "正しい値です", AnsweredBy = "auditor" }, cancellationToken: Ct)),
            ("/rarecancer.network.v1.TrialMatchingService/MatchNationalRegistryRecord", hubLog, dataManagerId, "R", r,
                async () => await new TrialMatchingService.TrialMatchingServiceClient(dataManagerChannel).MatchNationalRegistryRecordAsync(new() { RecordId = r }, cancellationToken: Ct)),
            ("/rarecancer.network.v1.LocalDirectoryService/MatchRegistryRecord", spokeLog, "local-spoke-a-pathology", "R", r,
                async () => await network.DirectoryA().MatchRegistryRecordAsync(new() { RecordId = r }, cancellationToken: Ct)),
            ("/rarecancer.network.v1.LocalRegistryService/ListLocalDataQueries", spokeLog, "local-spoke-a-pathology", "R", "",
                async () => await network.RegistryA().ListLocalDataQueriesAsync(new(), cancellationToken: Ct)),
            ("/rarecancer.network.v1.LocalRegistryService/ConfirmDataQueryValue", spokeLog, "local-spoke-a-pathology", "U", confirmedAtSpoke,
                async () => await network.RegistryA().ConfirmDataQueryValueAsync(new() { QueryId = confirmedAtSpoke, Comment = "正しい値です" }, cancellationToken: Ct)),
            ("/rarecancer.network.v1.LocalConsultationService/SubmitConsultation", spokeLog, "local-spoke-a-pathology", "C", "", null!),
            ("/rarecancer.network.v1.LocalConsultationService/ListConsultations", spokeLog, "local-spoke-a-pathology", "R", "",
                async () => await network.LocalA().ListConsultationsAsync(new(), cancellationToken: Ct)),
            ("/rarecancer.network.v1.LocalConsultationService/GetConsultation", spokeLog, "local-spoke-a-pathology", "R", id,
                async () => await network.LocalA().GetConsultationAsync(new() { ConsultationId = id }, cancellationToken: Ct)),
            ("/rarecancer.network.v1.ExpertConsultationService/ListAssignedConsultations", hubLog, expertId, "R", "",
                async () => await network.Expert(expertToken).ListAssignedConsultationsAsync(new(), cancellationToken: Ct)),
            ("/rarecancer.network.v1.ExpertConsultationService/GetAssignedConsultation", hubLog, expertId, "R", id,
                async () => await network.Expert(expertToken).GetAssignedConsultationAsync(new() { ConsultationId = id }, cancellationToken: Ct)),
            ("/rarecancer.network.v1.ExpertConsultationService/SubmitReport", hubLog, expertId, "C", id,
                async () => await network.Expert(expertToken).SubmitReportAsync(Samples.Report(id), cancellationToken: Ct)),
            ("/rarecancer.network.v1.SpokeSyncService/FetchConsultation", hubLog, "node-spoke-a", "R", id,
                async () => await network.Sync(network.NodeTokenA).FetchConsultationAsync(new() { ConsultationId = id }, cancellationToken: Ct)),
            ("/rarecancer.network.v1.SpokeSyncService/SubscribeEvents", hubLog, "node-spoke-a", "R", "", async () =>
            {
                using var feed = network.Sync(network.NodeTokenA).SubscribeEvents(new(), cancellationToken: Ct);
                Assert.True(await feed.ResponseStream.MoveNext(Ct));
            }),
            ("/rarecancer.network.v1.LocalRegistryService/CreateRegistryRecord", spokeLog, "local-spoke-a-pathology", "C", "", null!),
            ("/rarecancer.network.v1.LocalRegistryService/GetRegistryRecord", spokeLog, "local-spoke-a-pathology", "R", r,
                async () => await network.RegistryA().GetRegistryRecordAsync(new() { RecordId = r }, cancellationToken: Ct)),
            ("/rarecancer.network.v1.LocalRegistryService/ListRegistryRecords", spokeLog, "local-spoke-a-pathology", "R", "",
                async () => await network.RegistryA().ListRegistryRecordsAsync(new(), cancellationToken: Ct)),
            ("/rarecancer.network.v1.LocalRegistryService/ListRegistryRecordVersions", spokeLog, "local-spoke-a-pathology", "R", r,
                async () => await network.RegistryA().ListRegistryRecordVersionsAsync(new() { RecordId = r }, cancellationToken: Ct)),
            ("/rarecancer.network.v1.LocalRegistryService/UpdateRegistryRecord", spokeLog, "local-spoke-a-pathology", "U", r, async () =>
            {
                var latest = (await network.RegistryA().GetRegistryRecordAsync(new() { RecordId = r }, cancellationToken: Ct)).Record.Record.Clone();
                latest.Version++;
                await network.RegistryA().UpdateRegistryRecordAsync(new() { Record = latest }, cancellationToken: Ct);
            }),
            ("/rarecancer.network.v1.LocalRegistryService/ResolveRegistryConflict", spokeLog, "local-spoke-a-pathology", "U", r, async () =>
                await RpcAssert.FailsAsync(Grpc.Core.StatusCode.FailedPrecondition, () => network.RegistryA().ResolveRegistryConflictAsync(
                    new() { RecordId = r, Resolution = ConflictResolution.KeepSpoke, HubVersion = 1 }, cancellationToken: Ct).ResponseAsync)),
            ("/rarecancer.network.v1.RegistrySyncService/DeliverRegistryWithdrawal", hubLog, "node-spoke-a", "D", withdrawnAtHub.RecordId, async () =>
                await new RegistrySyncService.RegistrySyncServiceClient(network.HubChannel(network.NodeTokenA)).DeliverRegistryWithdrawalAsync(new()
                {
                    RecordId = withdrawnAtHub.RecordId, WithdrawnOn = "2026-02-01", RecordedBy = "auditor", PatientPseudonym = withdrawnAtHub.PatientPseudonym,
                }, cancellationToken: Ct)),
            ("/rarecancer.network.v1.LocalRegistryService/WithdrawRegistryConsent", spokeLog, "local-spoke-a-pathology", "D", withdrawnAtSpoke.RecordId, async () =>
                await network.RegistryA().WithdrawRegistryConsentAsync(new() { RecordId = withdrawnAtSpoke.RecordId, WithdrawnOn = "2026-02-01" }, cancellationToken: Ct)),
            ("/rarecancer.network.v1.LocalRegistryService/ImportRegistryRecords", spokeLog, "local-spoke-a-pathology", "C", "", async () =>
                await network.RegistryA().ImportRegistryRecordsAsync(new()
                {
                    Records = { new ImportedRecord { LocalPatientId = "AUDIT-IMPORT", Record = RareCancerNetwork.Tests.Shared.RegistrySamples.Record() } },
                }, cancellationToken: Ct)),
            ("/rarecancer.network.v1.RegistryAdministrationService/ExportNationalRegistry", hubLog, adminId, "R", "", async () =>
                await new RegistryAdministrationService.RegistryAdministrationServiceClient(Clients.Channel(network.Hub.Url, network.Hub.CaPath, admin))
                    .ExportNationalRegistryAsync(new(), cancellationToken: Ct)),
            ("/rarecancer.network.v1.LocalRegistryService/ExportRegistryRecords", spokeLog, "local-spoke-a-pathology", "R", "", async () =>
                await network.RegistryA().ExportRegistryRecordsAsync(new(), cancellationToken: Ct)),
        };
        var newRecord = RareCancerNetwork.Tests.Shared.RegistrySamples.Record(TestNetwork.FacilityA);
        var creation = Array.FindIndex(calls, c => c.Method.EndsWith("/CreateRegistryRecord", StringComparison.Ordinal));
        calls[creation].ObjectId = newRecord.RecordId;
        calls[creation].Call = async () =>
            await network.RegistryA().CreateRegistryRecordAsync(new() { LocalPatientId = "AUDIT-REG-2", Record = newRecord }, cancellationToken: Ct);
        var newId = Guid.CreateVersion7().ToString();
        var submitted = Array.FindIndex(calls, c => c.Method.EndsWith("/SubmitConsultation", StringComparison.Ordinal));
        calls[submitted].ObjectId = newId;
        calls[submitted].Call = async () =>
        {
            var fresh = Samples.Submission();
            fresh.ConsultationId = newId;
            await network.LocalA().SubmitConsultationAsync(fresh, cancellationToken: Ct);
        };

        foreach (var (method, log, user, action, objectId, call) in calls)
        {
            var entries = await AuditDeltaAsync(log, call, e => e.Event == method);
            var entry = Assert.Single(entries);
            var objectType = method.Contains("Hotline", StringComparison.Ordinal) ? "hotline_call"
                : method.Contains("DataQuer", StringComparison.Ordinal) ? "registry_data_query"
                : method.Contains("Referral", StringComparison.Ordinal) ? "referral"
                : method.Contains("Registry", StringComparison.Ordinal) ? "registry_record" : "consultation";
            // A call refused by the domain (the conflict resolution of a record not in conflict) is audited as a failure.
            var outcome = method.EndsWith("/ResolveRegistryConflict", StringComparison.Ordinal) ? AuditVocabulary.Failure : AuditVocabulary.Success;
            Assert.Equal((AuditVocabulary.EventTypePatientDataAccess, action, outcome, user, objectType, objectId),
                (entry.EventType, entry.Action, entry.Outcome, entry.UserId, entry.ObjectType, entry.ObjectId));
            Assert.Equal(log.NodeId, entry.NodeId);
            Assert.Equal("127.0.0.1", entry.SourceAddress.Replace("::ffff:", "", StringComparison.Ordinal));
        }
        // Every patient-level RPC of the table was exercised here or in the delivery below.
        // (The spoke's own deliveries run beside this test, so they are checked below, not counted above.)
        var covered = calls.Select(c => c.Method).Append("/rarecancer.network.v1.SpokeSyncService/DeliverConsultation")
            .Append("/rarecancer.network.v1.SpokeSyncService/DeliverConsultations")
            .Append("/rarecancer.network.v1.RegistrySyncService/DeliverRegistryRecords")
            .Append("/rarecancer.network.v1.ReferralSyncService/DeliverReferral").Append("/rarecancer.network.v1.ReferralSyncService/DeliverReferralTransition")
            .Append("/rarecancer.network.v1.SpokeSyncService/DeliverConsultationWithdrawal").Append("/rarecancer.network.v1.SpokeSyncService/DeliverReportAcknowledgement")
            .Append("/rarecancer.network.v1.SpokeSyncService/DeliverInformationAnswer").Append("/rarecancer.network.v1.SpokeSyncService/DeliverAttachment")
            .Append("/rarecancer.network.v1.HotlineSyncService/DeliverHotlineCall");
        Assert.Equal(RpcPolicies.Hub.Values.Concat(RpcPolicies.Spoke.Values).Where(p => p.PatientLevel).Select(p => p.Method).Order(), covered.Order());
        // The spoke's own delivery of the new consultation was audited at the hub as the node.
        // (Its outbox delivers consultations in batches: one entry per consultation the call carried.)
        await Eventually.UntilAsync(() => EntriesAsync(hubLog), all => all.Any(e => e.Event.EndsWith("/DeliverConsultations", StringComparison.Ordinal) && e.ObjectId == newId),
            "the delivery's audit entry at the hub");
        Assert.Single(await EntriesAsync(hubLog), e => e.Event.EndsWith("/DeliverConsultations", StringComparison.Ordinal) && e.ObjectId == newId
            && e.ObjectType == "consultation" && e.Action == "C" && e.UserId == "node-spoke-a");
        // Its registry deliveries too: patient-level, as the node, naming registry records.
        await Eventually.UntilAsync(() => EntriesAsync(hubLog), all => all.Any(e => e.Event.EndsWith("/DeliverRegistryRecords", StringComparison.Ordinal)
            && e.UserId == "node-spoke-a" && e.ObjectType == "registry_record" && e.Action == "C" && e.EventType == AuditVocabulary.EventTypePatientDataAccess),
            "a registry delivery's audit entry at the hub");
        // Its referral deliveries and transitions: the referral named, as the node.
        await Eventually.UntilAsync(() => EntriesAsync(hubLog), all =>
            all.Any(e => e.Event.EndsWith("/DeliverReferral", StringComparison.Ordinal) && e.ObjectId == referral.ReferralId && e.ObjectType == "referral" && e.Action == "C")
            && all.Any(e => e.Event.EndsWith("/DeliverReferralTransition", StringComparison.Ordinal) && e.ObjectId == toCancel.ReferralId && e.Action == "U"
                && e.UserId == "node-spoke-a"),
            "the referral deliveries' audit entries at the hub");
        // The withdrawal and the acknowledgement, delivered by the node.
        await Eventually.UntilAsync(() => EntriesAsync(hubLog), all =>
            all.Any(e => e.Event.EndsWith("/DeliverConsultationWithdrawal", StringComparison.Ordinal) && e.ObjectId == toWithdraw.ConsultationId && e.Action == "D")
            && all.Any(e => e.Event.EndsWith("/DeliverReportAcknowledgement", StringComparison.Ordinal) && e.ObjectId == acknowledged && e.Action == "U"),
            "the closings' audit entries at the hub");
        await Eventually.UntilAsync(() => EntriesAsync(hubLog), all =>
            all.Any(e => e.Event.EndsWith("/DeliverInformationAnswer", StringComparison.Ordinal) && e.ObjectId == asked.ConsultationId && e.Action == "U"),
            "the answer's audit entry at the hub");
        // The node's deliveries of the hotline call: as the node, naming the call (never its content).
        await Eventually.UntilAsync(() => EntriesAsync(hubLog), all =>
            all.Any(e => e.Event.EndsWith("/DeliverHotlineCall", StringComparison.Ordinal) && e.ObjectId == hotlineCall && e.ObjectType == "hotline_call"
                && e.Action == "C" && e.UserId == "node-spoke-a"),
            "the hotline call's delivery audited at the hub");
        // The node's upload of the slide: one entry for the stream, naming the consultation.
        Assert.Single(await EntriesAsync(hubLog), e => e.Event.EndsWith("/DeliverAttachment", StringComparison.Ordinal) && e.ObjectId == slideId && e.Action == "C"
            && e.UserId == "node-spoke-a" && e.Outcome == AuditVocabulary.Success);
    }

    [Fact]
    public async Task RefusedCalls_AreAudited_WithoutClinicalContent()
    {
        var hubLog = network.Hub.Services.GetRequiredService<AuditLog>();
        var denied = await AuditDeltaAsync(hubLog, async () => await RpcAssert.FailsAsync(StatusCode.PermissionDenied,
            () => network.Expert(network.NodeTokenA).ListAssignedConsultationsAsync(new(), cancellationToken: Ct).ResponseAsync), _ => true);
        var entry = Assert.Single(denied, e => e.UserId == "node-spoke-a");
        Assert.Equal((AuditVocabulary.EventTypeAuthorization, AuditVocabulary.Failure, "PermissionDenied"), (entry.EventType, entry.Outcome, entry.Detail));

        var unauthenticated = await AuditDeltaAsync(hubLog, async () => await RpcAssert.FailsAsync(StatusCode.Unauthenticated,
            () => network.Directory("forged").ListPrefecturesAsync(new(), cancellationToken: Ct).ResponseAsync), _ => true);
        Assert.Contains(unauthenticated, e => e.EventType == AuditVocabulary.EventTypeAuthentication && e.Outcome == AuditVocabulary.Failure && e.Detail == "token refused");

        // A refused token request (wrong secret) is audited with the client id it claimed.
        var refusedToken = await AuditDeltaAsync(hubLog, async () => await Assert.ThrowsAsync<OpenIddict.Abstractions.OpenIddictExceptions.ProtocolException>(
            () => Clients.TokenAsync(network.Hub.Url, network.Hub.CaPath, new Hub.Identity.IssuedCredentials("local-spoke-a-pathology", "wrong-secret", ""), NetworkClaims.Scopes.Local)),
            e => e.Event == "/connect/token");
        Assert.Contains(refusedToken, e => e.UserId == "local-spoke-a-pathology" && e.Outcome == AuditVocabulary.Failure);

        // An invalid patient-level request is audited as a failure; its content is not in the entry.
        var spokeLog = network.SpokeA.Services.GetRequiredService<AuditLog>();
        var bad = Samples.Submission("P-SECRET-77");
        bad.Details.LocalDiagnosis.MorphologyCode = "bad";
        var invalid = await AuditDeltaAsync(spokeLog, async () => await RpcAssert.FailsAsync(StatusCode.InvalidArgument,
            () => network.LocalA().SubmitConsultationAsync(bad, cancellationToken: Ct).ResponseAsync), _ => true);
        var failure = Assert.Single(invalid);
        Assert.Equal((AuditVocabulary.Failure, "InvalidArgument"), (failure.Outcome, failure.Detail));
        Assert.DoesNotContain("P-SECRET-77", failure.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(Samples.JapaneseSummary, failure.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SpokeTrails_AreForwardedToTheHub_IntactAndCountedInAccessStatistics()
    {
        var spokeLog = network.SpokeA.Services.GetRequiredService<AuditLog>();
        await network.LocalA().ListConsultationsAsync(new(), cancellationToken: Ct);
        var latest = (await EntriesAsync(spokeLog))[^1].Sequence;
        var forwarded = network.Hub.Services.GetRequiredService<RareCancerNetwork.Hub.Audit.ForwardedAuditStore>();
        await Eventually.UntilAsync(() => forwarded.VerifyAsync(Ct), all => all.TryGetValue("spoke-a", out var v) && v.EntriesChecked >= latest,
            "spoke A's trail at the hub");
        Assert.True((await forwarded.VerifyAsync(Ct))["spoke-a"].Intact);

        var admin = await People.AddAndSignInAsync(network.Hub, Path.GetTempPath(), $"admin-{Guid.CreateVersion7():N}"[..20], NetworkClaims.Roles.Administrator, "CORE-004");
        var statistics = await new AuditService.AuditServiceClient(Clients.Channel(network.Hub.Url, network.Hub.CaPath, admin)).GetAccessStatisticsAsync(new()
        {
            FromTime = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddHours(-1)),
            ToTime = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(1)),
        }, cancellationToken: Ct);
        Assert.Contains(statistics.Rows, r => r.NodeId == "spoke-a" && r.UserId == "local-spoke-a-pathology" && r.Action == "R" && r.Count > 0);
        Assert.Contains(statistics.Rows, r => r.NodeId == "hub" && r.EventType == AuditVocabulary.EventTypeSignIn && r.Outcome == AuditVocabulary.Success);
        await RpcAssert.InvalidFieldsAsync(() => new AuditService.AuditServiceClient(Clients.Channel(network.Hub.Url, network.Hub.CaPath, admin))
            .GetAccessStatisticsAsync(new(), cancellationToken: Ct).ResponseAsync, "from_time", "to_time");
    }

    private static async Task<List<AuditEntry>> AuditDeltaAsync(AuditLog log, Func<Task> call, Func<AuditEntry, bool> relevant)
    {
        var before = (await EntriesAsync(log)).Count;
        await call();
        return (await EntriesAsync(log)).Skip(before).Where(relevant).ToList();
    }

    private static async Task<List<AuditEntry>> EntriesAsync(AuditLog log) => [.. await log.ReadAsync(0, int.MaxValue, Ct)];
}
