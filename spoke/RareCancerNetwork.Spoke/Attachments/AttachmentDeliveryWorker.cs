using Grpc.Core;
using Microsoft.Extensions.Options;
using Polly;
using RareCancerNetwork.Node.Attachments;
using RareCancerNetwork.Protos.V1;
using RareCancerNetwork.Spoke.HubClient;
using RareCancerNetwork.Spoke.Outbox;
using RareCancerNetwork.Spoke.Store;

namespace RareCancerNetwork.Spoke.Attachments;

/// <summary>
/// Sends attached files to the hub, one at a time, each from the bytes the hub already holds: after a broken
/// connection, or a restart of the hub or of this node, an upload goes on from the last byte the hub stored, not from
/// zero. The hub is unreachable: wait and resume. A chunk the hub refuses as corrupted: send it again at once. The hub
/// refuses the file for good: kept with the reason. Runs beside the outbox worker, so a slide of gigabytes never holds
/// back a registry record or a withdrawal.
/// </summary>
public sealed partial class AttachmentDeliveryWorker(
    LocalAttachmentStore attachments, LocalConsultationStore consultations, OutboxStore outbox, AttachmentSignal signal, HubConnection hub,
    IOptions<SpokeOptions> options, ILogger<AttachmentDeliveryWorker> logger) : BackgroundService
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(30);
    // A stream that moves no chunk for this long is given up and resumed: a hung connection must not hold the queue.
    private static readonly TimeSpan StallTimeout = TimeSpan.FromMinutes(2);
    // Corrupted chunks resent within one attempt before it counts as a failure.
    private const int CorruptionRetries = 3;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var hubCalls = HubRetry.Create(options.Value.Delivery, HubFailures.IsHubUnavailable,
            (attempt, delay, failure) => LogRetrying(logger, attempt, delay.TotalSeconds, HubFailures.Describe(failure)), stoppingToken);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (await attachments.NextDueAsync(stoppingToken) is { } entry)
                {
                    await DeliverAsync(hubCalls, entry, stoppingToken);
                    continue;
                }
                await signal.WaitAsync(PollInterval, stoppingToken);
            }
            catch (Exception) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception)
            {
                // Note: a background worker must never stop the node; the queue is durable, so pause and go on.
                LogWorkerFailed(logger, exception.GetType().Name);
                await Task.Delay(TimeSpan.FromSeconds(options.Value.Delivery.MaxBackoffSeconds), stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    private async Task DeliverAsync(ResiliencePipeline hubCalls, OutboxEntry entry, CancellationToken cancellationToken)
    {
        var file = AttachmentUploadStart.Parser.ParseFrom(entry.Payload);
        var consultation = await consultations.GetAsync(file.ConsultationId, cancellationToken);
        if (consultation.Status is ConsultationStatus.Withdrawn or ConsultationStatus.Rejected)
        {
            // Nobody will read it: the bytes stay here, the entry leaves the queue.
            await outbox.MarkRefusedAsync([entry], $"superseded: the consultation is {Node.CommandLine.ProtoEnumNames.Name(consultation.Status)}", CancellationToken.None);
            return;
        }
        var descriptor = LocalAttachmentStore.Declared(consultation).First(d => d.File.Sha256Hex == file.Sha256Hex).File;
        try
        {
            await hubCalls.ExecuteAsync(async token => await SendAsync(file, descriptor, token), cancellationToken);
            await outbox.MarkDeliveredAsync([entry], CancellationToken.None);
            LogDelivered(logger, file.ConsultationId, descriptor.SizeBytes, entry.Attempts + 1);
        }
        catch (Exception exception) when (!cancellationToken.IsCancellationRequested && HubFailures.Classify(exception) == HubFailureKind.Refused)
        {
            await attachments.RecordErrorAsync(file, HubFailures.Describe(exception), CancellationToken.None);
            await outbox.MarkRefusedAsync([entry], HubFailures.Describe(exception), CancellationToken.None);
            LogRefused(logger, file.ConsultationId, ((exception as RpcException)?.StatusCode ?? StatusCode.Unknown).ToString());
        }
        catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
        {
            var delivery = options.Value.Delivery;
            var retryAfter = delivery.RetryAfter(entry.Attempts);
            await attachments.RecordErrorAsync(file, HubFailures.Describe(exception), CancellationToken.None);
            var parked = await outbox.RecordFailureAsync([entry], HubFailures.Describe(exception), retryAfter, delivery.ParkAfterAttempts, CancellationToken.None);
            LogFailed(logger, file.ConsultationId, entry.Attempts + 1, parked, exception.GetType().Name);
        }
    }

    /// <summary>One attempt: ask the hub what it holds, then stream the rest; a corrupted chunk is resent at once.</summary>
    private async Task SendAsync(AttachmentUploadStart file, AttachmentDescriptor descriptor, CancellationToken cancellationToken)
    {
        for (var corrupted = 0; ; corrupted++)
        {
            try
            {
                await SendOnceAsync(file, descriptor, cancellationToken);
                return;
            }
            catch (RpcException exception) when (exception.StatusCode == StatusCode.DataLoss && corrupted < CorruptionRetries)
            {
                LogChunkRefused(logger, file.ConsultationId, exception.Status.Detail);
            }
        }
    }

    private async Task SendOnceAsync(AttachmentUploadStart file, AttachmentDescriptor descriptor, CancellationToken cancellationToken)
    {
        var receipt = await hub.Sync.GetAttachmentReceiptAsync(new GetAttachmentReceiptRequest { ConsultationId = file.ConsultationId, Sha256Hex = file.Sha256Hex },
            deadline: DateTime.UtcNow.Add(CallTimeout), cancellationToken: cancellationToken);
        await attachments.BeginAttemptAsync(file, receipt.ReceivedBytes, CancellationToken.None);
        if (receipt.Complete)
        {
            await attachments.RecordHubReceiptAsync(file, descriptor.SizeBytes, complete: true, CancellationToken.None);
            return;
        }
        LogResuming(logger, file.ConsultationId, receipt.ReceivedBytes, descriptor.SizeBytes);
        using var stall = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        stall.CancelAfter(StallTimeout);
        using var call = hub.Sync.DeliverAttachment(cancellationToken: stall.Token);
        try
        {
            await call.RequestStream.WriteAsync(new DeliverAttachmentRequest { Start = new AttachmentUploadStart(file) { Offset = receipt.ReceivedBytes } }, stall.Token);
            await AttachmentSender.SendAsync(attachments.Blobs.CompletePath(file.Sha256Hex), receipt.ReceivedBytes,
                async chunk =>
                {
                    await call.RequestStream.WriteAsync(new DeliverAttachmentRequest { Chunk = chunk }, stall.Token);
                    stall.CancelAfter(StallTimeout);
                },
                sent => attachments.RecordSentAsync(file, sent, CancellationToken.None), stall.Token);
            await call.RequestStream.CompleteAsync();
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            // The hub may have ended the call with its reason (a refused chunk, a full disk): that status, not the broken write, says what to do.
            await call.ResponseAsync;
            throw;
        }
        var response = await call.ResponseAsync;
        await attachments.RecordHubReceiptAsync(file, response.ReceivedBytes, response.Complete, CancellationToken.None);
        if (!response.Complete)
        {
            throw new InvalidDataException($"The hub holds {response.ReceivedBytes:N0} of {descriptor.SizeBytes:N0} bytes after the whole file was sent.");
        }
    }

    [LoggerMessage(EventId = 2401, Level = LogLevel.Information, Message = "Attached file of consultation {ConsultationId}: the hub holds {Held} of {Size} bytes; sending the rest")]
    private static partial void LogResuming(ILogger logger, string consultationId, long held, long size);

    [LoggerMessage(EventId = 2402, Level = LogLevel.Information, Message = "Attached file of consultation {ConsultationId} ({Size} bytes) is whole at the hub (attempt {Attempt})")]
    private static partial void LogDelivered(ILogger logger, string consultationId, long size, int attempt);

    [LoggerMessage(EventId = 2403, Level = LogLevel.Warning, Message = "The hub refused an attached file of consultation {ConsultationId} ({StatusCode}); kept with the reason")]
    private static partial void LogRefused(ILogger logger, string consultationId, string statusCode);

    [LoggerMessage(EventId = 2404, Level = LogLevel.Warning, Message = "Sending an attached file of consultation {ConsultationId} failed (attempt {Attempt}, parked: {Parked}): {ExceptionType}")]
    private static partial void LogFailed(ILogger logger, string consultationId, int attempt, bool parked, string exceptionType);

    [LoggerMessage(EventId = 2405, Level = LogLevel.Warning, Message = "The hub refused a chunk of consultation {ConsultationId}'s file as corrupted ({Detail}); sending it again")]
    private static partial void LogChunkRefused(ILogger logger, string consultationId, string detail);

    [LoggerMessage(EventId = 2406, Level = LogLevel.Warning, Message = "Hub unavailable for an attached file (attempt {Attempt}); retrying in {DelaySeconds:0.#} s: {Reason}")]
    private static partial void LogRetrying(ILogger logger, int attempt, double delaySeconds, string reason);

    [LoggerMessage(EventId = 2407, Level = LogLevel.Error, Message = "The attachment worker failed ({ExceptionType}); it pauses and goes on")]
    private static partial void LogWorkerFailed(ILogger logger, string exceptionType);
}
