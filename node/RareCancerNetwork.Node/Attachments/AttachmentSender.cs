using System.Security.Cryptography;
using Google.Protobuf;
using RareCancerNetwork.Protos.Contract;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Node.Attachments;

/// <summary>The sending end: a file read from an offset in chunks, each with its SHA-256, one buffer reused throughout.</summary>
public static class AttachmentSender
{
    /// <summary>Sends the file from <paramref name="offset"/> to its end; each chunk is awaited before its buffer is reused.</summary>
    /// <param name="sent">Called with the offset reached after each chunk (progress bars, resend accounting).</param>
    public static async Task SendAsync(string path, long offset, Func<AttachmentChunk, Task> send, Func<long, Task>? sent, CancellationToken cancellationToken)
    {
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, FileOptions.SequentialScan);
        file.Seek(offset, SeekOrigin.Begin);
        var buffer = new byte[ContractLimits.AttachmentChunkBytes];
        var position = offset;
        while (true)
        {
            var filled = await file.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken);
            if (filled == 0)
            {
                return;
            }
            var data = buffer.AsMemory(0, filled);
            var chunk = new AttachmentChunk
            {
                Offset = position,
                // Note: wrapped, not copied; gRPC has written the message by the time the send completes.
                Data = UnsafeByteOperations.UnsafeWrap(data),
                Sha256Hex = Convert.ToHexStringLower(SHA256.HashData(data.Span)),
            };
            await send(chunk);
            position += filled;
            if (sent is not null)
            {
                await sent(position);
            }
        }
    }

    /// <summary>A local file's descriptor: its name, media type (from its extension, unless given), size and SHA-256.</summary>
    public static async Task<AttachmentDescriptor> DescribeAsync(string path, string? mediaType, Action<long>? hashed, CancellationToken cancellationToken)
    {
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, FileOptions.SequentialScan);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[ContractLimits.AttachmentChunkBytes];
        long total = 0;
        int read;
        while ((read = await file.ReadAsync(buffer, cancellationToken)) > 0)
        {
            hash.AppendData(buffer, 0, read);
            total += read;
            hashed?.Invoke(total);
        }
        return new AttachmentDescriptor
        {
            FileName = Path.GetFileName(path),
            MediaType = string.IsNullOrWhiteSpace(mediaType) ? AttachmentOptions.MediaTypeOf(path) : mediaType,
            SizeBytes = total,
            Sha256Hex = Convert.ToHexStringLower(hash.GetHashAndReset()),
        };
    }
}
