using Grpc.Core;
using Microsoft.AspNetCore.Http.Features;
using RareCancerNetwork.Node.Validation;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Node.Attachments;

/// <summary>What a receiver holds of a file after an upload call.</summary>
public sealed record AttachmentReceipt(AttachmentDescriptor Descriptor, long ReceivedBytes, bool Complete);

/// <summary>
/// The receiving end of an attachment upload, the same at a spoke (from its users) and at the hub (from spokes): a
/// start message naming the file and the offset it resumes from, then chunks, each verified and stored before the next
/// is read. Memory holds one chunk at a time, whatever the file's size.
/// </summary>
public static class AttachmentReceiver
{
    /// <param name="resolve">The descriptor of the file the start names, after checking that the caller may send it.</param>
    /// <param name="completed">Records a file that is now whole (also when it was whole before: content-addressed).</param>
    public static async Task<AttachmentReceipt> ReceiveAsync<TRequest>(
        IAsyncStreamReader<TRequest> requests, Func<TRequest, AttachmentUploadStart?> startOf, Func<TRequest, AttachmentChunk?> chunkOf,
        Func<AttachmentUploadStart, Task<AttachmentDescriptor>> resolve, Func<AttachmentDescriptor, Task> completed,
        BlobStore store, AttachmentOptions options, string nodeName, ServerCallContext context)
    {
        // The node's request-body limit guards unary calls; an upload is bounded per chunk instead (gRPC's message limit).
        if (context.GetHttpContext().Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodyLimit)
        {
            bodyLimit.MaxRequestBodySize = null;
        }
        var cancellationToken = context.CancellationToken;
        if (!await requests.MoveNext(cancellationToken) || startOf(requests.Current) is not { } start)
        {
            throw new FieldValidator().Add("start", "must be the first message, naming the file and the offset it resumes from").Invalid();
        }
        var v = new FieldValidator();
        v.Uuid("start.consultation_id", start.ConsultationId);
        v.Sha256("start.sha256_hex", start.Sha256Hex);
        v.Range("start.offset", start.Offset, 0, Protos.Contract.ContractLimits.AttachmentBytes);
        v.ThrowIfInvalid();
        var descriptor = await resolve(start);
        if (store.IsComplete(descriptor.Sha256Hex))
        {
            await completed(descriptor);
            return new AttachmentReceipt(descriptor, descriptor.SizeBytes, Complete: true);
        }
        var held = store.ReceivedBytes(descriptor);
        if (start.Offset != held)
        {
            throw new Errors.PreconditionFailedException("RESUME_OFFSET",
                $"start.offset is {start.Offset:N0}, but the {nodeName} holds {held:N0} bytes of this file: resume from offset {held}.");
        }
        store.EnsureSpaceFor(descriptor.SizeBytes - held, options.ReservedFreeBytes, nodeName);
        await using var writer = await store.OpenWriterAsync(descriptor, cancellationToken);
        if (writer.Position != held)
        {
            // Another upload moved on between the look and the lock.
            throw new Errors.PreconditionFailedException("RESUME_OFFSET",
                $"The {nodeName} now holds {writer.Position:N0} bytes of this file: resume from offset {writer.Position}.");
        }
        while (!writer.Complete && await requests.MoveNext(cancellationToken))
        {
            if (chunkOf(requests.Current) is not { } chunk)
            {
                throw new FieldValidator().Add("chunk", "must follow the start; only the first message is a start").Invalid();
            }
            await writer.AppendAsync(chunk, "chunk", cancellationToken);
        }
        if (writer.Complete)
        {
            await completed(descriptor);
        }
        return new AttachmentReceipt(descriptor, writer.Position, writer.Complete);
    }
}
