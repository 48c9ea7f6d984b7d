using Microsoft.Data.Sqlite;
using RareCancerNetwork.IntegrationTests.Infrastructure;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.IntegrationTests;

/// <summary>
/// Whole-slide images of gigabytes between real processes: byte-exact from the pathologist's disk through the spoke and the
/// hub to the expert's, in bounded memory; an upload that loses the hub or the spoke to SIGKILL resumes from the bytes the
/// hub holds, not from zero.
/// </summary>
[Collection("processes")]
[Trait(ProcessNetwork.HubStoreTrait, ProcessNetwork.OwnHubStore)]
public sealed class LargeAttachmentTests
{
    private const long Chunk = 1024 * 1024;
    // Resident memory either process may reach while gigabytes pass through it: generous (the node itself takes ~100-200 MiB),
    // yet a small fraction of the file. The benchmark measures it precisely.
    private const long MemoryBound = 512 * Chunk;

    [Fact]
    public async Task AFourGigabyteSlide_CrossesTheNetworkByteExact_InBoundedMemory()
    {
        using var folder = new TempFolder("rcn-large");
        using var network = await ProcessNetwork.StartAsync(folder);
        // Past 4 GiB, so that no offset or size may hide in 32 bits.
        var (path, slide) = await AttachmentFiles.SparseAsync(folder.Sub("files"), 4L * 1024 * Chunk + 3 * Chunk + 5, "whole-slide.ndpi");
        var submission = Samples.Submission("OSK-SLIDE");
        submission.Details.Attachments.Add(slide);
        await network.Local().SubmitConsultationAsync(submission, cancellationToken: TestContext.Current.CancellationToken);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var atSpoke = await AttachmentFiles.UploadAsync(network.Local(), submission.ConsultationId, path, slide);
        TestContext.Current.TestOutputHelper?.WriteLine($"to the spoke: {clock.Elapsed.TotalSeconds:0.0} s");
        Assert.Equal(slide.SizeBytes, atSpoke.SpokeReceivedBytes);
        // The hub's "assigned" event and the answer to the upload's last chunk, which makes the spoke mark its slide available,
        // travel separately: either may be recorded first.
        await network.AtSpokeAsync(submission.ConsultationId, c => c.Status == ConsultationStatus.Assigned && c.Attachments[0].Available,
            "the consultation assigned once its slide arrived, the slide available", TimeSpan.FromMinutes(5));
        TestContext.Current.TestOutputHelper?.WriteLine($"to the hub: {clock.Elapsed.TotalSeconds:0.0} s");

        var downloaded = folder.Sub("downloaded.ndpi");
        Assert.Equal(slide.SizeBytes, await AttachmentFiles.DownloadAsync(network.Expert(), submission.ConsultationId, slide, downloaded));
        TestContext.Current.TestOutputHelper?.WriteLine($"downloaded: {clock.Elapsed.TotalSeconds:0.0} s");
        Assert.Equal(slide.Sha256Hex, await AttachmentFiles.Sha256Async(downloaded));
        Assert.Equal(slide.SizeBytes, new FileInfo(downloaded).Length);

        var (hubPeak, spokePeak) = (network.Hub.PeakWorkingSetBytes, network.Spoke.PeakWorkingSetBytes);
        TestContext.Current.TestOutputHelper?.WriteLine($"peak working set: hub {hubPeak / Chunk} MiB, spoke {spokePeak / Chunk} MiB, for {slide.SizeBytes / Chunk} MiB");
        Assert.True(hubPeak < MemoryBound, $"The hub's peak working set was {hubPeak / Chunk} MiB for a {slide.SizeBytes / Chunk} MiB file.");
        Assert.True(spokePeak < MemoryBound, $"The spoke's peak working set was {spokePeak / Chunk} MiB for a {slide.SizeBytes / Chunk} MiB file.");
    }

    [Fact]
    public async Task AnUploadThatLosesTheHubAndThenTheSpoke_ResumesEachTime_SendingAtMostAChunkAgain()
    {
        using var folder = new TempFolder("rcn-resume");
        using var network = await ProcessNetwork.StartAsync(folder);
        var (path, slide) = await AttachmentFiles.SparseAsync(folder.Sub("files"), 2L * 1024 * Chunk + 11, "resumed.svs");
        var submission = Samples.Submission("OSK-RESUME");
        submission.Details.Attachments.Add(slide);
        var id = submission.ConsultationId;
        await network.Local().SubmitConsultationAsync(submission, cancellationToken: TestContext.Current.CancellationToken);
        await AttachmentFiles.UploadAsync(network.Local(), id, path, slide);
        var partial = Path.Combine(network.HubDataFolder, "attachments", "partial", slide.Sha256Hex + ".part");

        // SIGKILL the hub a quarter of the way through; it comes back at the same address.
        await HubHoldsAsync(partial, slide.SizeBytes / 4);
        network.Hub.KillHard();
        var heldAfterHubKill = new FileInfo(partial).Length;
        await network.StartHubAsync();
        // The upload goes on from the bytes the hub stored: what was lost in flight when it died is at most one chunk.
        var (_, resentAfterHubKill) = await Eventually.UntilAsync(() => DeliveryCostAsync(network.SpokeDataFolder, id, slide.Sha256Hex), cost => cost.Attempts >= 2,
            "the upload resumed", TimeSpan.FromMinutes(2));
        Assert.True(resentAfterHubKill <= Chunk, $"{resentAfterHubKill:N0} bytes were sent again after the hub's restart.");
        // Then SIGKILL the spoke past two thirds, and start it again: it resumes from the hub's bytes too.
        await HubHoldsAsync(partial, Math.Max(heldAfterHubKill + 64 * Chunk, slide.SizeBytes * 2 / 3));
        network.Spoke.KillHard();
        await network.StartSpokeAsync();

        // Assigned (the hub holds the slide whole) may reach the spoke through the feed just before its delivery worker records
        // the hub's last receipt: wait for both.
        var assigned = await network.AtSpokeAsync(id, c => c.Status == ConsultationStatus.Assigned && c.Attachments[0].Available,
            "the consultation assigned once its slide arrived, and the slide available", TimeSpan.FromMinutes(5));
        Assert.Equal(slide.SizeBytes, assigned.Attachments[0].HubReceivedBytes);
        var (attempts, resent) = await DeliveryCostAsync(network.SpokeDataFolder, id, slide.Sha256Hex);
        TestContext.Current.TestOutputHelper?.WriteLine($"attempts {attempts}, bytes sent again: {resentAfterHubKill:N0} after the hub's kill, {resent - resentAfterHubKill:N0} after the spoke's");
        // One attempt broken by each kill, then the one that finished (more if the hub still held the dead spoke's stream).
        Assert.True(attempts >= 3, $"{attempts} attempts");
        Assert.True(resent - resentAfterHubKill <= Chunk, $"{resent - resentAfterHubKill:N0} bytes were sent again after the spoke's restart.");
        var downloaded = folder.Sub("downloaded.svs");
        await AttachmentFiles.DownloadAsync(network.Expert(), id, slide, downloaded);
        Assert.Equal(slide.Sha256Hex, await AttachmentFiles.Sha256Async(downloaded));
    }

    private static Task<long> HubHoldsAsync(string partialPath, long bytes) =>
        Eventually.UntilAsync(() => Task.FromResult(File.Exists(partialPath) ? new FileInfo(partialPath).Length : 0), held => held >= bytes,
            $"the hub holding {bytes:N0} bytes", TimeSpan.FromMinutes(3));

    /// <summary>What the spoke recorded of its deliveries of the file: attempts, and bytes sent again after resuming.</summary>
    private static async Task<(int Attempts, long Resent)> DeliveryCostAsync(string spokeDataFolder, string consultationId, string sha256Hex)
    {
        await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(spokeDataFolder, "spoke.db"), Mode = SqliteOpenMode.ReadOnly, Pooling = false,
        }.ToString());
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT attempts, bytes_resent FROM attachment_deliveries WHERE consultation_id = $id AND sha256 = $sha";
        command.Parameters.AddWithValue("$id", consultationId);
        command.Parameters.AddWithValue("$sha", sha256Hex);
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        return (reader.GetInt32(0), reader.GetInt64(1));
    }
}
