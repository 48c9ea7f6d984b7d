using System.Security.Cryptography;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using RareCancerNetwork.IntegrationTests.Infrastructure;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.IntegrationTests;

/// <summary>
/// Slide images and other files: uploaded to the spoke (resumably), sent on to the hub, offered to the expert only once
/// whole, downloaded byte for byte; every bad upload refused with the status that says what to do.
/// </summary>
[Collection(NetworkCollection.Name)]
public sealed class AttachmentTests(TestNetwork network) : IDisposable
{
    private const int Chunk = 1024 * 1024;
    private readonly TempFolder _folder = new("rcn-attachments");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task ConsultationWaitsForItsFiles_ThenReachesTheExpert_WhoDownloadsThemByteForByte()
    {
        var (slidePath, slide) = await AttachmentFiles.RandomAsync(_folder.Path, 3 * Chunk + 12_345, "HE-1.svs");
        var (photoPath, photo) = await AttachmentFiles.RandomAsync(_folder.Path, 200_000, "macro.jpg");
        var submission = Samples.Submission();
        submission.Details.Attachments.Add(slide);
        submission.Details.Attachments.Add(photo);
        var id = submission.ConsultationId;
        var submitted = (await network.LocalA().SubmitConsultationAsync(submission, cancellationToken: Ct)).Consultation;
        Assert.Equal([(0L, 0L, false), (0L, 0L, false)], submitted.Attachments.Select(a => (a.SpokeReceivedBytes, a.HubReceivedBytes, a.Available)));
        // Nothing is queued while the spoke does not hold a file whole.
        Assert.All(submitted.Attachments, a => Assert.Equal(DeliveryState.Unspecified, a.DeliveryState));

        // The hub holds the consultation but waits for its files; nobody is offered it.
        var waiting = await AtSpokeAsync(id, c => c.Status == ConsultationStatus.AwaitingAttachments, "the consultation awaiting its files");
        Assert.Equal(ConsultationStepKind.Received, waiting.Timeline[0].Kind);
        Assert.Contains("2 attached files", waiting.Timeline[0].Detail, StringComparison.Ordinal);
        await AssertOfferedToNobodyAsync(id);
        // Administrators see it among what waits, with its files still to come (the command works on the hub's store, whichever it is).
        var (_, waitingList) = await NodeProcess.RunForExitCodeAsync(NodeProcess.HubProgram, network.Hub.StoreEnvironment(), "consultations", "waiting");
        Assert.Contains(id, waitingList, StringComparison.Ordinal);
        Assert.Contains("wait for attached files", waitingList, StringComparison.Ordinal);

        // Part of the slide, then the connection ends: the spoke keeps what it received, and the upload resumes from there.
        var partial = await AttachmentFiles.UploadAsync(network.LocalA(), id, slidePath, slide, stopAfterBytes: Chunk + 1);
        Assert.InRange(partial.SpokeReceivedBytes, Chunk, slide.SizeBytes - 1);
        var resumedFrom = (await network.LocalA().GetAttachmentUploadAsync(new() { ConsultationId = id, Sha256Hex = slide.Sha256Hex }, cancellationToken: Ct))
            .Attachment.SpokeReceivedBytes;
        Assert.Equal(partial.SpokeReceivedBytes, resumedFrom);
        var whole = await AttachmentFiles.UploadAsync(network.LocalA(), id, slidePath, slide);
        Assert.Equal(slide.SizeBytes, whole.SpokeReceivedBytes);
        // One of two files: still nobody's.
        await Eventually.UntilAsync(async () => (await network.LocalA().GetConsultationAsync(new() { ConsultationId = id }, cancellationToken: Ct)).Consultation.Attachments[0],
            a => a.Available, "the slide whole at the hub");
        await AssertOfferedToNobodyAsync(id);

        await AttachmentFiles.UploadAsync(network.LocalA(), id, photoPath, photo);
        var assigned = await AtSpokeAsync(id, c => c.Status == ConsultationStatus.Assigned && c.Timeline.Any(s => s.Kind == ConsultationStepKind.Assigned),
            "the consultation assigned once its files arrived");
        Assert.All(assigned.Attachments, a => Assert.Equal((a.File.SizeBytes, a.File.SizeBytes, true, DeliveryState.Delivered),
            (a.SpokeReceivedBytes, a.HubReceivedBytes, a.Available, a.DeliveryState)));
        Assert.Equal([ConsultationStepKind.Received, ConsultationStepKind.AttachmentsReceived, ConsultationStepKind.Assigned],
            assigned.Timeline.Select(s => s.Kind).Take(3));

        var expert = network.Expert(await network.AssignedExpertTokenAsync(id));
        var atHub = (await expert.GetAssignedConsultationAsync(new() { ConsultationId = id }, cancellationToken: Ct)).Consultation;
        Assert.Equal(assigned.Timeline.Select(s => (s.Kind, s.Status)), atHub.Timeline.Select(s => (s.Kind, s.Status)));
        Assert.Equal([slide, photo], atHub.Attachments.Select(a => a.File).OrderBy(f => f.FileName == "macro.jpg"));
        foreach (var (path, file) in new[] { (slidePath, slide), (photoPath, photo) })
        {
            var target = _folder.Sub($"downloaded-{file.FileName}");
            Assert.Equal(file.SizeBytes, await AttachmentFiles.DownloadAsync(expert, id, file, target));
            Assert.Equal(await File.ReadAllBytesAsync(path, Ct), await File.ReadAllBytesAsync(target, Ct));
        }
        // A download that stopped resumes from the bytes held: only the rest crosses the network.
        var resumedTarget = _folder.Sub("resumed-HE-1.svs");
        await File.WriteAllBytesAsync(resumedTarget + ".part", (await File.ReadAllBytesAsync(slidePath, Ct))[..(2 * Chunk + 7)], Ct);
        Assert.Equal(slide.SizeBytes - (2 * Chunk + 7), await AttachmentFiles.DownloadAsync(expert, id, slide, resumedTarget));
        Assert.Equal(slide.Sha256Hex, await AttachmentFiles.Sha256Async(resumedTarget));
        // The other expert may not download it.
        var other = network.Expert(network.ExpertToken1 == await network.AssignedExpertTokenAsync(id) ? network.ExpertToken2 : network.ExpertToken1);
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => ReadAllAsync(other, id, slide.Sha256Hex, 0));
        await RpcAssert.InvalidFieldsAsync(() => ReadAllAsync(expert, id, slide.Sha256Hex, slide.SizeBytes + 1), "offset");
    }

    [Fact]
    public async Task TheSameFileTwice_IsStoredOnce_AndASecondConsultationNeedsNoUpload()
    {
        var (path, file) = await AttachmentFiles.RandomAsync(_folder.Path, 300_000, "HE-2.ndpi");
        var first = Samples.Submission();
        first.Details.Attachments.Add(file);
        await network.LocalA().SubmitConsultationAsync(first, cancellationToken: Ct);
        await AttachmentFiles.UploadAsync(network.LocalA(), first.ConsultationId, path, file);
        await AtSpokeAsync(first.ConsultationId, c => c.Status == ConsultationStatus.Assigned, "the first consultation assigned");

        // Same slide, another consultation: the spoke holds it, so it goes on without a second upload; the hub holds it, so it is whole at once.
        var second = Samples.Submission();
        second.Details.Attachments.Add(file);
        var stored = (await network.LocalA().SubmitConsultationAsync(second, cancellationToken: Ct)).Consultation;
        Assert.Equal(file.SizeBytes, stored.Attachments[0].SpokeReceivedBytes);
        var assigned = await AtSpokeAsync(second.ConsultationId, c => c.Status == ConsultationStatus.Assigned && c.Attachments[0].Available, "the second consultation assigned");
        Assert.DoesNotContain(assigned.Timeline, s => s.Kind == ConsultationStepKind.AttachmentsReceived);
        var blobs = Directory.GetFiles(Path.Combine(network.Hub.DataFolder, "attachments", "blobs"), file.Sha256Hex, SearchOption.AllDirectories);
        Assert.Single(blobs);
    }

    [Fact]
    public async Task BadChunksAndFiles_AreRefusedWithActionableStatuses_AndNothingPartialIsServed()
    {
        var (path, file) = await AttachmentFiles.RandomAsync(_folder.Path, 2 * Chunk + 500, "HE-3.svs");
        var submission = Samples.Submission();
        submission.Details.Attachments.Add(file);
        var id = submission.ConsultationId;
        await network.LocalA().SubmitConsultationAsync(submission, cancellationToken: Ct);
        await AtSpokeAsync(id, c => c.Status == ConsultationStatus.AwaitingAttachments, "the consultation at the hub");
        var sync = network.Sync(network.NodeTokenA);
        var bytes = await File.ReadAllBytesAsync(path, Ct);
        AttachmentChunk ChunkAt(long offset, int length, bool corrupt = false)
        {
            var data = bytes.AsSpan((int)offset, length).ToArray();
            var hash = Convert.ToHexStringLower(SHA256.HashData(data));
            if (corrupt)
            {
                data[17] ^= 0xff;
            }
            return new AttachmentChunk { Offset = offset, Data = ByteString.CopyFrom(data), Sha256Hex = hash };
        }
        async Task<RpcException> RefusedAsync(params DeliverAttachmentRequest[] messages)
        {
            using var call = sync.DeliverAttachment(cancellationToken: Ct);
            try
            {
                foreach (var message in messages)
                {
                    await call.RequestStream.WriteAsync(message, Ct);
                }
                await call.RequestStream.CompleteAsync();
            }
            catch (Exception exception) when (exception is RpcException or InvalidOperationException or IOException)
            {
                // The hub ended the call before every message was written: its status follows.
            }
            return await AttachmentFiles.FailureOfAsync(call.ResponseAsync);
        }
        async Task<long> HeldAsync() => (await sync.GetAttachmentReceiptAsync(new() { ConsultationId = id, Sha256Hex = file.Sha256Hex }, cancellationToken: Ct)).ReceivedBytes;
        DeliverAttachmentRequest Start(long offset, string? sha = null) => new()
        {
            Start = new AttachmentUploadStart { ConsultationId = id, Sha256Hex = sha ?? file.Sha256Hex, Offset = offset },
        };

        // A corrupted chunk is refused (DATA_LOSS) with nothing of it stored; the good chunk before it stays.
        var corrupted = await RefusedAsync(Start(0), new() { Chunk = ChunkAt(0, Chunk) }, new() { Chunk = ChunkAt(Chunk, Chunk, corrupt: true) });
        Assert.Equal(StatusCode.DataLoss, corrupted.StatusCode);
        Assert.Contains($"Send it again from offset {Chunk}", corrupted.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(Chunk, await HeldAsync());
        // ... and sent again, it is taken.
        using (var again = sync.DeliverAttachment(cancellationToken: Ct))
        {
            await again.RequestStream.WriteAsync(Start(Chunk), Ct);
            await again.RequestStream.WriteAsync(new() { Chunk = ChunkAt(Chunk, Chunk) }, Ct);
            await again.RequestStream.CompleteAsync();
            Assert.Equal((2L * Chunk, false), ((await again.ResponseAsync).ReceivedBytes, (await again.ResponseAsync).Complete));
        }

        // Resuming from anywhere but the bytes held is refused, naming where to resume.
        var wrongOffset = await RefusedAsync(Start(0));
        Assert.Equal(StatusCode.FailedPrecondition, wrongOffset.StatusCode);
        Assert.Contains($"resume from offset {2 * Chunk}", wrongOffset.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(StatusCode.InvalidArgument, (await RefusedAsync(new DeliverAttachmentRequest { Chunk = ChunkAt(0, 10) })).StatusCode);
        Assert.Equal(StatusCode.InvalidArgument, (await RefusedAsync(Start(2 * Chunk), new() { Chunk = ChunkAt(2 * Chunk + 1, 10) })).StatusCode);
        var tooLong = ChunkAt(2 * Chunk, 500);
        tooLong.Data = ByteString.CopyFrom(new byte[600]);
        tooLong.Sha256Hex = Convert.ToHexStringLower(SHA256.HashData(new byte[600]));
        var pastTheEnd = await RefusedAsync(Start(2 * Chunk), new() { Chunk = tooLong });
        Assert.Equal(StatusCode.InvalidArgument, pastTheEnd.StatusCode);
        Assert.Contains("runs past the declared size", pastTheEnd.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(StatusCode.NotFound, (await RefusedAsync(Start(0, new string('0', 64)))).StatusCode);
        var otherNode = network.Sync(network.NodeTokenB);
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => otherNode.GetAttachmentReceiptAsync(new() { ConsultationId = id, Sha256Hex = file.Sha256Hex },
            cancellationToken: Ct).ResponseAsync);
        Assert.Equal(2L * Chunk, await HeldAsync());

        // Nothing partial is served, and the consultation is nobody's yet.
        await AssertOfferedToNobodyAsync(id);

        // Bytes that do not make the declared file (each chunk sound, the whole wrong) fail the upload, and are discarded.
        var (_, impostor) = await AttachmentFiles.RandomAsync(_folder.Path, 2 * Chunk + 500, "HE-3.svs");
        var mismatched = await RefusedAsync(Start(2 * Chunk), new()
        {
            Chunk = new AttachmentChunk
            {
                Offset = 2 * Chunk, Data = ByteString.CopyFrom(new byte[500]), Sha256Hex = Convert.ToHexStringLower(SHA256.HashData(new byte[500])),
            },
        });
        Assert.Equal(StatusCode.DataLoss, mismatched.StatusCode);
        Assert.Contains($"not the declared {file.Sha256Hex}", mismatched.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(0, await HeldAsync());
        Assert.NotEqual(impostor.Sha256Hex, file.Sha256Hex);

        // The spoke itself sends the real file: the consultation goes on.
        await AttachmentFiles.UploadAsync(network.LocalA(), id, path, file);
        await AtSpokeAsync(id, c => c.Status == ConsultationStatus.Assigned, "the consultation assigned");
    }

    [Fact]
    public async Task LocalUploads_RefuseUndeclaredCorruptedAndUnacceptedFiles()
    {
        var (path, file) = await AttachmentFiles.RandomAsync(_folder.Path, Chunk + 10, "HE-4.svs");
        var submission = Samples.Submission();
        submission.Details.Attachments.Add(file);
        var id = submission.ConsultationId;
        var local = network.LocalA();
        await local.SubmitConsultationAsync(submission, cancellationToken: Ct);

        // A file the consultation does not declare.
        var (otherPath, undeclared) = await AttachmentFiles.RandomAsync(_folder.Path, 1000, "other.svs");
        var notFound = await RpcAssert.FailsAsync(StatusCode.NotFound, () => AttachmentFiles.UploadAsync(local, id, otherPath, undeclared));
        Assert.Contains("declares no file with this SHA-256", notFound.Status.Detail, StringComparison.Ordinal);
        // A corrupted chunk: refused, nothing of it kept.
        using (var call = local.UploadAttachment(cancellationToken: Ct))
        {
            await call.RequestStream.WriteAsync(new() { Start = new AttachmentUploadStart { ConsultationId = id, Sha256Hex = file.Sha256Hex } }, Ct);
            var data = (await File.ReadAllBytesAsync(path, Ct))[..1000];
            var chunk = new AttachmentChunk { Offset = 0, Data = ByteString.CopyFrom(data), Sha256Hex = new string('0', 64) };
            try
            {
                await call.RequestStream.WriteAsync(new() { Chunk = chunk }, Ct);
                await call.RequestStream.CompleteAsync();
            }
            catch (Exception exception) when (exception is RpcException or InvalidOperationException or IOException)
            {
            }
            Assert.Equal(StatusCode.DataLoss, (await AttachmentFiles.FailureOfAsync(call.ResponseAsync)).StatusCode);
        }
        Assert.Equal(0, (await local.GetAttachmentUploadAsync(new() { ConsultationId = id, Sha256Hex = file.Sha256Hex }, cancellationToken: Ct)).Attachment.SpokeReceivedBytes);
        // A media type the network does not accept is refused before any byte: at the spoke, and at the hub.
        var video = Samples.Submission();
        video.Details.Attachments.Add(new AttachmentDescriptor { FileName = "surgery.mp4", MediaType = "video/mp4", SizeBytes = 10, Sha256Hex = new string('1', 64) });
        await RpcAssert.InvalidFieldsAsync(() => local.SubmitConsultationAsync(video, cancellationToken: Ct).ResponseAsync, "details.attachments[0].media_type");
        var delivery = Samples.Delivery(TestNetwork.FacilityA);
        delivery.Details.Attachments.Add(video.Details.Attachments[0]);
        delivery.Details.Attachments.Add(video.Details.Attachments[0]);
        await RpcAssert.InvalidFieldsAsync(() => network.Sync(network.NodeTokenA).DeliverConsultationAsync(delivery, cancellationToken: Ct).ResponseAsync,
            "details.attachments[0].media_type", "details.attachments[1].media_type", "details.attachments[1].sha256_hex");
        // A withdrawn consultation's files are no longer taken.
        await local.WithdrawConsultationAsync(new() { ConsultationId = id, Reason = "検体不良" }, cancellationToken: Ct);
        var closed = await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => AttachmentFiles.UploadAsync(local, id, path, file));
        Assert.Contains("no longer sent", closed.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnAnswersFiles_TravelAfterIt_AndTheExpertDownloadsThemOnceWhole()
    {
        var submission = Samples.Submission();
        await network.SubmitAndAwaitAssignmentAsync(submission);
        var id = submission.ConsultationId;
        var expert = network.Expert(await network.AssignedExpertTokenAsync(id));
        var asked = (await expert.RequestInformationAsync(new() { ConsultationId = id, RequestId = Guid.CreateVersion7().ToString(), Question = "CD34 の免疫染色を追加してください" },
            cancellationToken: Ct)).Request;
        await AtSpokeAsync(id, c => c.Status == ConsultationStatus.InformationRequested, "the request at the spoke");
        var (path, stain) = await AttachmentFiles.RandomAsync(_folder.Path, Chunk + 77, "CD34.svs");
        var answered = (await network.LocalA().AnswerInformationRequestAsync(new()
        {
            ConsultationId = id, RequestId = asked.RequestId, Answer = "CD34 陽性でした。", Attachments = { stain },
        }, cancellationToken: Ct)).Consultation;
        Assert.Equal(asked.RequestId, Assert.Single(answered.Attachments).RequestId);
        // The answer reaches the expert before its file: the file is listed, not yet downloadable.
        var atHub = await Eventually.UntilAsync(async () => (await expert.GetAssignedConsultationAsync(new() { ConsultationId = id }, cancellationToken: Ct)).Consultation,
            c => c.Status == ConsultationStatus.Assigned && c.Attachments.Count == 1, "the answer at the hub");
        Assert.False(atHub.Attachments[0].Available);
        var inTransit = await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => ReadAllAsync(expert, id, stain.Sha256Hex, 0));
        Assert.Contains("still on its way to the hub", inTransit.Status.Detail, StringComparison.Ordinal);

        await AttachmentFiles.UploadAsync(network.LocalA(), id, path, stain);
        await Eventually.UntilAsync(async () => (await expert.GetAssignedConsultationAsync(new() { ConsultationId = id }, cancellationToken: Ct)).Consultation.Attachments[0],
            a => a.Available, "the stain whole at the hub");
        var target = _folder.Sub("CD34.svs");
        await AttachmentFiles.DownloadAsync(expert, id, stain, target);
        Assert.Equal(stain.Sha256Hex, await AttachmentFiles.Sha256Async(target));
    }

    [Fact]
    public async Task AFileTheHubMadeWholeButDidNotRecord_BeforeItStopped_IsRecordedWhenItsSpokeAsks()
    {
        var (path, file) = await AttachmentFiles.RandomAsync(_folder.Path, 50_000, "HE-6.svs");
        var submission = Samples.Submission();
        submission.Details.Attachments.Add(file);
        var id = submission.ConsultationId;
        await network.LocalA().SubmitConsultationAsync(submission, cancellationToken: Ct);
        await AtSpokeAsync(id, c => c.Status == ConsultationStatus.AwaitingAttachments, "the consultation at the hub");
        // The hub renamed the verified file into place and stopped before its database heard of it.
        var blob = Path.Combine(network.Hub.DataFolder, "attachments", "blobs", file.Sha256Hex[..2], file.Sha256Hex);
        Directory.CreateDirectory(Path.GetDirectoryName(blob)!);
        File.Copy(path, blob);
        var receipt = await network.Sync(network.NodeTokenA).GetAttachmentReceiptAsync(new() { ConsultationId = id, Sha256Hex = file.Sha256Hex }, cancellationToken: Ct);
        Assert.Equal((file.SizeBytes, true), (receipt.ReceivedBytes, receipt.Complete));
        await AtSpokeAsync(id, c => c.Status == ConsultationStatus.Assigned, "the consultation offered once the file was recorded");
    }

    [Fact]
    public async Task TheCommandLine_SubmitsWithASlide_AndTheExpertDownloadsIt()
    {
        // A thoracic expert of this test's own: no other test sends thoracic cases.
        var expertCredentials = await network.Hub.RegisterExpertAsync($"thoracic-{Guid.CreateVersion7().ToString("N")[^6..]}", "胸部 病理医", 10, OrganSystem.Thoracic);
        var client = await network.Hub.RegisterLocalClientAsync("spoke-a", $"cli-{Guid.CreateVersion7().ToString("N")[^8..]}");
        var localProfile = _folder.Sub("local.json");
        var expertProfile = _folder.Sub("expert.json");
        await File.WriteAllTextAsync(localProfile, System.Text.Json.JsonSerializer.Serialize(
            new { HubUrl = network.Hub.Url, HubCaCertificatePath = network.Hub.CaPath, client.ClientId, client.ClientSecret }), Ct);
        await File.WriteAllTextAsync(expertProfile, System.Text.Json.JsonSerializer.Serialize(
            new { HubUrl = network.Hub.Url, HubCaCertificatePath = network.Hub.CaPath, expertCredentials.ClientId, expertCredentials.ClientSecret }), Ct);
        string[] local = ["--profile", localProfile, "--session", _folder.Sub("no-session.json"), "--spoke-url", network.SpokeA.Url, "--spoke-ca", network.SpokeA.CaPath];
        var request = _folder.Sub("request.json");
        await File.WriteAllTextAsync(request, JsonFormatter.Default.Format(Samples.Submission(organ: OrganSystem.Thoracic)), Ct);
        var (randomPath, slide) = await AttachmentFiles.RandomAsync(_folder.Sub("slides"), 2 * Chunk + 99, "HE-5.svs");
        var slidePath = _folder.Sub("HE-5.svs");
        File.Move(randomPath, slidePath);

        var submitted = JsonParser.Default.Parse<SubmitConsultationResponse>(
            await NodeProcess.RunAsync(NodeProcess.SpokeProgram, ["submit", "--file", request, "--attach", slidePath, "--json", .. local]));
        var id = submitted.Consultation.ConsultationId;
        Assert.Equal((slide.Sha256Hex, "image/x-aperio-svs", slide.SizeBytes), (submitted.Consultation.Details.Attachments[0].Sha256Hex,
            submitted.Consultation.Details.Attachments[0].MediaType, submitted.Consultation.Details.Attachments[0].SizeBytes));
        await AtSpokeAsync(id, c => c.Status == ConsultationStatus.Assigned, "the consultation assigned once its slide arrived");
        var shown = await NodeProcess.RunAsync(NodeProcess.SpokeProgram, ["show", id, .. local]);
        Assert.Contains("HE-5.svs", shown, StringComparison.Ordinal);
        Assert.Contains("ATTACHMENTS_RECEIVED", shown.ToUpperInvariant().Replace(' ', '_'), StringComparison.Ordinal);

        var downloads = _folder.Sub("downloads");
        var downloaded = await NodeProcess.RunAsync(NodeProcess.HubProgram, "expert", "download", id, "--to", downloads, "--profile", expertProfile,
            "--session", _folder.Sub("no-session.json"));
        Assert.Contains("SHA-256 verified", downloaded, StringComparison.Ordinal);
        Assert.Equal(await File.ReadAllBytesAsync(slidePath, Ct), await File.ReadAllBytesAsync(Path.Combine(downloads, "HE-5.svs"), Ct));
    }

    /// <summary>
    /// A partition (every connection cut, none accepted) in the middle of a slide's way to the hub: the spoke shows it
    /// while it lasts, and after healing the upload resumes from what the hub holds — the bytes sent again are at most
    /// what was in flight when the connection died — and the file arrives whole.
    /// </summary>
    [Fact]
    public async Task APartitionDuringAnUpload_ResumesFromWhatTheHubHolds_AndTheFileArrivesWhole()
    {
        await using var link = new TcpRelay(network.Hub.Port);
        var hub = network.Hub;
        const string nodeId = "spoke-upload-partition";
        var node = await hub.RegisterSpokeAsync(nodeId, "CORE-010", _folder.Sub("spoke"));
        var localClient = await hub.RegisterLocalClientAsync(nodeId, "pathology");
        await using var spoke = await SpokeNode.StartAsync(_folder.Sub("spoke"), link.Url, hub.CaPath, nodeId, "CORE-010", node,
            extra: new Dictionary<string, string?> { ["Spoke:Delivery:StatusReportSeconds"] = "1" });
        var local = new LocalConsultationService.LocalConsultationServiceClient(Clients.Channel(spoke.Url, spoke.CaPath,
            await Clients.TokenAsync(link.Url, hub.CaPath, localClient, RareCancerNetwork.Node.Authorization.NetworkClaims.Scopes.Local)));
        var contact = spoke.Services.GetRequiredService<RareCancerNetwork.Spoke.Outbox.HubContactStore>();
        await Eventually.UntilAsync(() => contact.ReadAsync(Ct), c => c.LastContactAt is not null, "the spoke in contact");

        var (slidePath, slide) = await AttachmentFiles.RandomAsync(_folder.Path, 256L * Chunk + 777, "partition.svs");
        var submission = Samples.Submission();
        submission.Details.Attachments.Add(slide);
        await local.SubmitConsultationAsync(submission, cancellationToken: Ct);
        await AttachmentFiles.UploadAsync(local, submission.ConsultationId, slidePath, slide);
        async Task<AttachmentTransfer> AtHubAsync() =>
            (await local.GetConsultationAsync(new() { ConsultationId = submission.ConsultationId }, cancellationToken: Ct)).Consultation.Attachments[0];
        // Cut as soon as the hub's partial file grows (its size is what the hub holds, live).
        var partialFile = Path.Combine(hub.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<RareCancerNetwork.Hub.HubOptions>>().Value.AttachmentsFolder,
            "partial", slide.Sha256Hex + ".part");
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (!(File.Exists(partialFile) && new FileInfo(partialFile).Length >= 8 * Chunk) && watch.Elapsed < TimeSpan.FromSeconds(60))
        {
            await Task.Delay(5, Ct);
        }
        link.Route();
        link.DropConnections();
        await Eventually.UntilAsync(() => contact.ReadAsync(Ct), c => c.Failing, "the partition in the spoke's status");
        var during = await AtHubAsync();
        var heldDuring = during.HubReceivedBytes;
        Assert.True(heldDuring < slide.SizeBytes, "the partition came too late to matter");
        // The file shows as on its way (part of it at the hub, as last reported), with the failed attempt's reason once there is one.
        Assert.Equal(heldDuring > 0 ? DeliveryState.Sending : DeliveryState.Pending, during.DeliveryState);

        link.Route(hub.Port);
        var arrived = await Eventually.UntilAsync(AtHubAsync, a => a.Available, "the slide whole at the hub after healing", TimeSpan.FromMinutes(2));
        Assert.Equal((slide.SizeBytes, DeliveryState.Delivered, ""), (arrived.HubReceivedBytes, arrived.DeliveryState, arrived.DeliveryError));
        var (attempts, resent) = await spoke.Services.GetRequiredService<RareCancerNetwork.Spoke.Attachments.LocalAttachmentStore>()
            .CostAsync(submission.ConsultationId, slide.Sha256Hex, Ct);
        Assert.True(attempts >= 2, $"{attempts} attempts");
        // What HTTP/2 flow control lets be in flight when the connection died, never the file again.
        Assert.True(resent <= 2 * Chunk, $"{resent:N0} bytes were sent again after the partition.");
        await Eventually.UntilAsync(() => contact.ReadAsync(Ct), c => !c.Failing, "contact again");
    }

    private async Task AssertOfferedToNobodyAsync(string id)
    {
        foreach (var token in new[] { network.ExpertToken1, network.ExpertToken2, network.BoneExpertToken })
        {
            var listed = await network.Expert(token).ListAssignedConsultationsAsync(new() { PageSize = 200 }, cancellationToken: Ct);
            Assert.DoesNotContain(listed.Consultations, c => c.ConsultationId == id);
        }
    }

    private static async Task ReadAllAsync(ExpertConsultationService.ExpertConsultationServiceClient expert, string id, string sha, long offset)
    {
        using var call = expert.DownloadAttachment(new() { ConsultationId = id, Sha256Hex = sha, Offset = offset }, cancellationToken: Ct);
        while (await call.ResponseStream.MoveNext(Ct))
        {
        }
    }

    private Task<LocalConsultation> AtSpokeAsync(string id, Func<LocalConsultation, bool> done, string what) =>
        Eventually.UntilAsync(async () => (await network.LocalA().GetConsultationAsync(new() { ConsultationId = id }, cancellationToken: Ct)).Consultation, done, what);
}
