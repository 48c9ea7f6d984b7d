using System.Security.Cryptography;
using Google.Protobuf;
using Google.Rpc;
using Grpc.Core;
using RareCancerNetwork.Node.Attachments;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Node.Validation;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Hub.Tests;

/// <summary>The content-addressed store both kinds of node keep attached files in, and the limits they accept them under.</summary>
public sealed class AttachmentStoreTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), $"rcn-blobs-{Guid.CreateVersion7():N}");

    public void Dispose()
    {
        if (System.IO.Directory.Exists(_folder))
        {
            System.IO.Directory.Delete(_folder, recursive: true);
        }
    }

    private static (byte[] Bytes, AttachmentDescriptor Descriptor) File(int size)
    {
        var bytes = RandomNumberGenerator.GetBytes(size);
        return (bytes, new AttachmentDescriptor { FileName = "HE.svs", MediaType = "image/tiff", SizeBytes = size, Sha256Hex = Convert.ToHexStringLower(SHA256.HashData(bytes)) });
    }

    private static AttachmentChunk Chunk(byte[] bytes, int offset, int length) => new()
    {
        Offset = offset,
        Data = ByteString.CopyFrom(bytes, offset, length),
        Sha256Hex = Convert.ToHexStringLower(SHA256.HashData(bytes.AsSpan(offset, length))),
    };

    [Fact]
    public async Task AFileWrittenAcrossTwoSessions_IsWholeAndVerified_AndNeverServedBeforeThen()
    {
        var store = new BlobStore(_folder);
        var (bytes, descriptor) = File(300_000);
        await using (var first = await store.OpenWriterAsync(descriptor, CancellationToken.None))
        {
            await first.AppendAsync(Chunk(bytes, 0, 100_000), "chunk", CancellationToken.None);
        }
        Assert.Equal(100_000, store.ReceivedBytes(descriptor));
        Assert.False(store.IsComplete(descriptor.Sha256Hex));
        Assert.Throws<ResourceNotFoundException>(() => store.OpenRead(descriptor.Sha256Hex).Dispose());

        await using (var resumed = await store.OpenWriterAsync(descriptor, CancellationToken.None))
        {
            Assert.Equal(100_000, resumed.Position);
            await resumed.AppendAsync(Chunk(bytes, 100_000, 200_000), "chunk", CancellationToken.None);
            Assert.True(resumed.Complete);
        }
        Assert.True(store.IsComplete(descriptor.Sha256Hex));
        await using var read = store.OpenRead(descriptor.Sha256Hex);
        using var copy = new MemoryStream();
        await read.CopyToAsync(copy, TestContext.Current.CancellationToken);
        Assert.Equal(bytes, copy.ToArray());
    }

    [Fact]
    public async Task OneWriterPerFile_AndBytesThatAreNotTheDeclaredFile_AreDiscarded()
    {
        var store = new BlobStore(_folder);
        var (bytes, descriptor) = File(5_000);
        await using (await store.OpenWriterAsync(descriptor, CancellationToken.None))
        {
            await Assert.ThrowsAsync<TransferBusyException>(() => store.OpenWriterAsync(descriptor, CancellationToken.None));
        }
        var impostor = RandomNumberGenerator.GetBytes(5_000);
        await using var writer = await store.OpenWriterAsync(descriptor, CancellationToken.None);
        var refused = await Assert.ThrowsAsync<TransferCorruptedException>(() => writer.AppendAsync(Chunk(impostor, 0, 5_000), "chunk", CancellationToken.None));
        Assert.Contains("not the declared", refused.Message, StringComparison.Ordinal);
        Assert.Equal(0, store.ReceivedBytes(descriptor));
        Assert.False(store.IsComplete(descriptor.Sha256Hex));
        Assert.NotEqual(bytes, impostor);
    }

    [Fact]
    public void AFullDisk_IsResourceExhausted_SayingHowMuchSpaceIsNeeded_AndWhenToTryAgain()
    {
        var store = new BlobStore(_folder);
        var full = Assert.Throws<LimitExceededException>(() => store.EnsureSpaceFor(4L << 30, long.MaxValue / 4, "hub"));
        Assert.Contains("The hub lacks the disk space for this file: it needs", full.Message, StringComparison.Ordinal);
        var status = ErrorMappingInterceptor.ToRpcException(full);
        Assert.Equal(StatusCode.ResourceExhausted, status.StatusCode);
        Assert.Equal(TimeSpan.FromMinutes(5), status.GetRpcStatus()!.GetDetail<RetryInfo>()!.RetryDelay.ToTimeSpan());
        store.EnsureSpaceFor(1, 0, "hub");
    }

    [Fact]
    public void ConfiguredLimits_RefuseAFileBeforeItsBytes_NamingTheField()
    {
        var options = new AttachmentOptions { MaxFileBytes = 1L << 30, AllowedMediaTypes = ["image/tiff", "application/pdf"] };
        var v = new FieldValidator();
        var slide = new AttachmentDescriptor { FileName = "a.svs", MediaType = "image/tiff", SizeBytes = (1L << 30) + 1, Sha256Hex = new string('a', 64) };
        var video = new AttachmentDescriptor { FileName = "b.mp4", MediaType = "video/mp4", SizeBytes = 10, Sha256Hex = new string('b', 64) };
        // The contract's own checks (the same file twice), then this node's limits.
        ConsultationValidation.ValidateAttachments(v, "details.attachments", [slide, video, video]);
        options.Check(v, "details.attachments", [slide, video, video]);
        var violations = Assert.Throws<InvalidFieldsException>(v.ThrowIfInvalid).Violations;
        Assert.Equal(["details.attachments[2].sha256_hex", "details.attachments[0].size_bytes", "details.attachments[1].media_type", "details.attachments[2].media_type"],
            violations.Select(x => x.Field));
        Assert.Contains("the largest file accepted here is 1.0 GiB (1,073,741,824 bytes)", violations[1].Description, StringComparison.Ordinal);
        Assert.Equal(AttachmentOptions.DefaultMediaTypes, new AttachmentOptions().EffectiveMediaTypes);
        Assert.Equal("image/x-hamamatsu-ndpi", AttachmentOptions.MediaTypeOf("スライド.NDPI"));
    }
}
