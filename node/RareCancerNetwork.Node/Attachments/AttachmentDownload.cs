using System.Security.Cryptography;
using Grpc.Core;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Node.Attachments;

/// <summary>
/// The receiving end of a download, into a local file: bytes go to <c>target.part</c>, which a later run resumes from;
/// each chunk is checked against its SHA-256 and the whole file against the descriptor's before it takes its name.
/// </summary>
public static class AttachmentDownload
{
    private const int Attempts = 5;

    /// <param name="open">Opens the server's stream from an offset.</param>
    /// <param name="received">Called with the bytes held after each chunk.</param>
    /// <returns>How many bytes were fetched in this run (a resumed download fetches only the rest).</returns>
    public static async Task<long> ToFileAsync(AttachmentDescriptor descriptor, string targetPath, Func<long, IAsyncEnumerable<AttachmentChunk>> open,
        Action<long>? received, CancellationToken cancellationToken)
    {
        var partialPath = targetPath + ".part";
        long fetched = 0;
        await using (var file = new FileStream(partialPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, bufferSize: 0, FileOptions.SequentialScan))
        {
            if (file.Length > descriptor.SizeBytes)
            {
                file.SetLength(0);
            }
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[1024 * 1024];
            int read;
            while ((read = await file.ReadAsync(buffer, cancellationToken)) > 0)
            {
                hash.AppendData(buffer, 0, read);
            }
            var position = file.Length;
            received?.Invoke(position);
            for (var attempt = 1; position < descriptor.SizeBytes; attempt++)
            {
                try
                {
                    await foreach (var chunk in open(position).WithCancellation(cancellationToken))
                    {
                        if (chunk.Offset != position || chunk.Data.Length == 0 || position + chunk.Data.Length > descriptor.SizeBytes)
                        {
                            throw new InvalidDataException($"The hub sent bytes at offset {chunk.Offset:N0}; expected {position:N0}.");
                        }
                        if (!string.Equals(Convert.ToHexStringLower(SHA256.HashData(chunk.Data.Span)), chunk.Sha256Hex, StringComparison.Ordinal))
                        {
                            throw new InvalidDataException($"The chunk at offset {chunk.Offset:N0} does not match its SHA-256.");
                        }
                        await file.WriteAsync(chunk.Data.Memory, cancellationToken);
                        hash.AppendData(chunk.Data.Span);
                        position += chunk.Data.Length;
                        fetched += chunk.Data.Length;
                        received?.Invoke(position);
                        if (position == descriptor.SizeBytes)
                        {
                            break;
                        }
                    }
                    if (position < descriptor.SizeBytes)
                    {
                        throw new InvalidDataException($"The stream ended at {position:N0} of {descriptor.SizeBytes:N0} bytes.");
                    }
                }
                catch (Exception exception) when (attempt < Attempts && !cancellationToken.IsCancellationRequested && IsWorthResuming(exception))
                {
                    // What arrived stays; the next stream starts after it.
                    await Task.Delay(TimeSpan.FromSeconds(attempt), cancellationToken);
                }
            }
            file.Flush(flushToDisk: true);
            var actual = Convert.ToHexStringLower(hash.GetHashAndReset());
            if (!string.Equals(actual, descriptor.Sha256Hex, StringComparison.Ordinal))
            {
                file.SetLength(0);
                throw new InvalidDataException($"The downloaded file has SHA-256 {actual}, not {descriptor.Sha256Hex}; it was discarded. Download it again.");
            }
        }
        File.Move(partialPath, targetPath, overwrite: true);
        return fetched;
    }

    /// <summary>An expert's download stream from an offset; the call ends when the enumeration does.</summary>
    public static async IAsyncEnumerable<AttachmentChunk> FromHubAsync(ExpertConsultationService.ExpertConsultationServiceClient client, string consultationId,
        string sha256Hex, long offset, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var call = client.DownloadAttachment(new DownloadAttachmentRequest { ConsultationId = consultationId, Sha256Hex = sha256Hex, Offset = offset },
            cancellationToken: cancellationToken);
        await foreach (var response in call.ResponseStream.ReadAllAsync(cancellationToken))
        {
            yield return response.Chunk;
        }
    }

    private static bool IsWorthResuming(Exception exception) => exception switch
    {
        InvalidDataException => true,
        RpcException rpc => rpc.StatusCode is StatusCode.Unavailable or StatusCode.Internal or StatusCode.Unknown or StatusCode.DeadlineExceeded or StatusCode.Aborted,
        IOException => true,
        _ => false,
    };
}
