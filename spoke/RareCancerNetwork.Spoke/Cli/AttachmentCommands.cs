using System.CommandLine;
using Grpc.Core;
using RareCancerNetwork.Node.Attachments;
using RareCancerNetwork.Node.CommandLine;
using RareCancerNetwork.Protos.V1;
using Spectre.Console;

namespace RareCancerNetwork.Spoke.Cli;

/// <summary>
/// Slide images and other files from the pathologist's disk to the spoke: described (name, media type, size, SHA-256)
/// when a consultation or an answer is submitted, then uploaded with a progress bar, resuming where an earlier upload
/// stopped. The spoke sends them on to the hub.
/// </summary>
internal static class AttachmentCommands
{
    private const int Attempts = 5;

    public static Option<FileInfo[]> AttachOption() => new("--attach")
    {
        Description = "A file to attach (slide image: .svs .ndpi .mrxs .dcm .tif; photo; PDF); repeat for several",
        AllowMultipleArgumentsPerToken = true,
    };

    /// <summary>Hashes the files (a progress bar each: a slide takes a while) into descriptors.</summary>
    public static async Task<List<AttachmentDescriptor>> DescribeAsync(IReadOnlyList<FileInfo> files, CancellationToken cancellationToken, bool quiet = false)
    {
        var descriptors = new AttachmentDescriptor[files.Count];
        foreach (var file in files.Where(f => !f.Exists))
        {
            throw new InvalidDataException($"{file.FullName} does not exist.");
        }
        if (files.Count == 0)
        {
            return [];
        }
        if (quiet)
        {
            for (var i = 0; i < files.Count; i++)
            {
                descriptors[i] = await AttachmentSender.DescribeAsync(files[i].FullName, null, null, cancellationToken);
            }
            return [.. descriptors];
        }
        await TransferProgress.RunAsync(files.Select(f => ($"hashing {f.Name}", f.Length)).ToList(), async (i, done) =>
            descriptors[i] = await AttachmentSender.DescribeAsync(files[i].FullName, null, bytes => done(bytes), cancellationToken));
        return [.. descriptors];
    }

    public static Command Attach(Func<ParseResult, LocalApiConnection> connect)
    {
        var id = new Argument<string>("consultation-id");
        var files = new Argument<FileInfo[]>("files") { Description = "Files the consultation (or one of its answers) declares", Arity = ArgumentArity.OneOrMore };
        var command = new Command("attach",
            "Upload the declared files of a consultation to the spoke, resuming where an earlier upload stopped; the spoke sends them on to the hub.") { id, files };
        command.SetAction((result, cancellationToken) => SpokeCommandLine.ClientAsync(async () =>
        {
            await using var connection = connect(result);
            var consultationId = result.GetValue(id)!;
            var consultation = (await connection.Consultations.GetConsultationAsync(new() { ConsultationId = consultationId }, cancellationToken: cancellationToken)).Consultation;
            var local = result.GetValue(files)!;
            var described = await DescribeAsync(local, cancellationToken);
            var declared = consultation.Attachments.Select(a => a.File.Sha256Hex).ToHashSet(StringComparer.Ordinal);
            foreach (var (file, descriptor) in local.Zip(described).Where(f => !declared.Contains(f.Second.Sha256Hex)))
            {
                throw new InvalidDataException($"{file.Name} (SHA-256 {descriptor.Sha256Hex}) is not a file this consultation declares; declared: " +
                    string.Join(", ", consultation.Attachments.Select(a => a.File.FileName)));
            }
            await UploadAsync(connection, consultationId, local.Zip(described).ToList(), cancellationToken);
        }));
        return command;
    }

    /// <summary>Uploads each file from the bytes the spoke already holds; a broken connection or a refused chunk resumes.</summary>
    public static async Task UploadAsync(LocalApiConnection connection, string consultationId, IReadOnlyList<(FileInfo File, AttachmentDescriptor Descriptor)> files,
        CancellationToken cancellationToken)
    {
        if (files.Count == 0)
        {
            return;
        }
        var transfers = new AttachmentTransfer[files.Count];
        await TransferProgress.RunAsync(files.Select(f => (f.File.Name, f.Descriptor.SizeBytes)).ToList(), async (i, done) =>
            transfers[i] = await UploadOneAsync(connection, consultationId, files[i].File.FullName, files[i].Descriptor, done, cancellationToken));
        foreach (var transfer in transfers)
        {
            AnsiConsole.MarkupLine($"[green]{Markup.Escape(transfer.File.FileName)}[/]: held whole at the spoke; " +
                (transfer.Available ? "the hub holds it too." : "queued for the hub ('spoke show' follows it)."));
        }
    }

    /// <summary>The same uploads without progress bars, for scripted (JSON) output.</summary>
    public static async Task UploadQuietlyAsync(LocalApiConnection connection, string consultationId, IReadOnlyList<(FileInfo File, AttachmentDescriptor Descriptor)> files,
        CancellationToken cancellationToken)
    {
        foreach (var (file, descriptor) in files)
        {
            await UploadOneAsync(connection, consultationId, file.FullName, descriptor, _ => { }, cancellationToken);
        }
    }

    private static async Task<AttachmentTransfer> UploadOneAsync(LocalApiConnection connection, string consultationId, string path, AttachmentDescriptor descriptor,
        Action<long> done, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var held = (await connection.Consultations.GetAttachmentUploadAsync(new() { ConsultationId = consultationId, Sha256Hex = descriptor.Sha256Hex },
                    cancellationToken: cancellationToken)).Attachment;
                done(held.SpokeReceivedBytes);
                if (held.SpokeReceivedBytes == descriptor.SizeBytes)
                {
                    return held;
                }
                using var call = connection.Consultations.UploadAttachment(cancellationToken: cancellationToken);
                try
                {
                    await call.RequestStream.WriteAsync(new UploadAttachmentRequest
                    {
                        Start = new AttachmentUploadStart { ConsultationId = consultationId, Sha256Hex = descriptor.Sha256Hex, Offset = held.SpokeReceivedBytes },
                    }, cancellationToken);
                    await AttachmentSender.SendAsync(path, held.SpokeReceivedBytes, chunk => call.RequestStream.WriteAsync(new UploadAttachmentRequest { Chunk = chunk }, cancellationToken),
                        sent =>
                        {
                            done(sent);
                            return Task.CompletedTask;
                        }, cancellationToken);
                    await call.RequestStream.CompleteAsync();
                }
                catch (Exception) when (!cancellationToken.IsCancellationRequested)
                {
                    // The spoke's status (a refused chunk, a full disk) says more than the broken write.
                    await call.ResponseAsync;
                    throw;
                }
                return (await call.ResponseAsync).Attachment;
            }
            catch (RpcException exception) when (attempt < Attempts && exception.StatusCode is StatusCode.Unavailable or StatusCode.DataLoss or StatusCode.Aborted
                or StatusCode.Internal or StatusCode.DeadlineExceeded)
            {
                // What the spoke stored stays; the next attempt resumes after it.
                await Task.Delay(TimeSpan.FromSeconds(attempt), cancellationToken);
            }
        }
    }
}
