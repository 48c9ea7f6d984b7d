using System.Security.Cryptography;
using Grpc.Core;
using RareCancerNetwork.Node.Attachments;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.IntegrationTests.Infrastructure;

/// <summary>Files to attach (random bytes, or large and sparse) and the uploads and downloads tests make with them.</summary>
public static class AttachmentFiles
{
    /// <summary>A file of random bytes and its descriptor.</summary>
    public static async Task<(string Path, AttachmentDescriptor Descriptor)> RandomAsync(string folder, long sizeBytes, string name = "slide.svs")
    {
        Directory.CreateDirectory(folder);
        var path = System.IO.Path.Combine(folder, $"{Guid.CreateVersion7():N}-{name}");
        await using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write))
        {
            // Written a piece at a time, so that a large file never sits in memory whole.
            for (long written = 0; written < sizeBytes; written += 1024 * 1024)
            {
                await file.WriteAsync(RandomNumberGenerator.GetBytes((int)Math.Min(1024 * 1024, sizeBytes - written)));
            }
        }
        var descriptor = await AttachmentSender.DescribeAsync(path, null, null, CancellationToken.None);
        descriptor.FileName = name;
        return (path, descriptor);
    }

    /// <summary>
    /// A large file that is mostly holes (no disk blocks), with random bytes at its start, its end and every 256 MiB, so that a
    /// misplaced chunk shows in its hash.
    /// </summary>
    public static async Task<(string Path, AttachmentDescriptor Descriptor)> SparseAsync(string folder, long sizeBytes, string name = "whole-slide.ndpi")
    {
        Directory.CreateDirectory(folder);
        var path = System.IO.Path.Combine(folder, $"{Guid.CreateVersion7():N}-{name}");
        await using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write))
        {
            file.SetLength(sizeBytes);
            for (long at = 0; at < sizeBytes; at += 256L * 1024 * 1024)
            {
                file.Seek(at, SeekOrigin.Begin);
                file.Write(RandomNumberGenerator.GetBytes((int)Math.Min(4096, sizeBytes - at)));
            }
            file.Seek(sizeBytes - 16, SeekOrigin.Begin);
            file.Write(RandomNumberGenerator.GetBytes(16));
        }
        var descriptor = await AttachmentSender.DescribeAsync(path, null, null, CancellationToken.None);
        descriptor.FileName = name;
        return (path, descriptor);
    }

    /// <summary>Uploads a file to a spoke's local API from the offset the spoke holds; returns what the spoke says afterwards.</summary>
    public static async Task<AttachmentTransfer> UploadAsync(LocalConsultationService.LocalConsultationServiceClient local, string consultationId, string path,
        AttachmentDescriptor descriptor, long? stopAfterBytes = null)
    {
        var held = (await local.GetAttachmentUploadAsync(new() { ConsultationId = consultationId, Sha256Hex = descriptor.Sha256Hex })).Attachment.SpokeReceivedBytes;
        using var call = local.UploadAttachment();
        using var stop = new CancellationTokenSource();
        try
        {
            await call.RequestStream.WriteAsync(new UploadAttachmentRequest
            {
                Start = new AttachmentUploadStart { ConsultationId = consultationId, Sha256Hex = descriptor.Sha256Hex, Offset = held },
            });
            await AttachmentSender.SendAsync(path, held, chunk => call.RequestStream.WriteAsync(new UploadAttachmentRequest { Chunk = chunk }),
                sent =>
                {
                    if (sent - held >= stopAfterBytes)
                    {
                        stop.Cancel();
                    }
                    return Task.CompletedTask;
                }, stop.Token);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Stopped on purpose: the spoke keeps what it received.
        }
        catch (Exception exception) when (exception is RpcException or InvalidOperationException or IOException)
        {
            // The spoke ended the call early: its status is the answer.
            await call.ResponseAsync;
            throw;
        }
        await call.RequestStream.CompleteAsync();
        return (await call.ResponseAsync).Attachment;
    }

    /// <summary>The expert's download into a file; returns the bytes fetched in this run.</summary>
    public static Task<long> DownloadAsync(ExpertConsultationService.ExpertConsultationServiceClient expert, string consultationId, AttachmentDescriptor descriptor,
        string targetPath) =>
        AttachmentDownload.ToFileAsync(descriptor, targetPath,
            offset => AttachmentDownload.FromHubAsync(expert, consultationId, descriptor.Sha256Hex, offset, CancellationToken.None), null, CancellationToken.None);

    public static async Task<string> Sha256Async(string path)
    {
        await using var file = File.OpenRead(path);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(file));
    }

    /// <summary>A client stream's status when the server ended it early: the status, not the broken write.</summary>
    public static async Task<RpcException> FailureOfAsync<TResponse>(Task<TResponse> response)
    {
        try
        {
            await response;
        }
        catch (RpcException exception)
        {
            return exception;
        }
        throw new InvalidOperationException("The call succeeded where a failure was expected.");
    }
}
