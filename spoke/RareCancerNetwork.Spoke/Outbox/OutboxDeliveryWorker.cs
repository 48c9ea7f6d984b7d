using Grpc.Core;
using Microsoft.Extensions.Options;
using Polly;
using RareCancerNetwork.Node.Telemetry;
using RareCancerNetwork.Protos.Contract;
using RareCancerNetwork.Protos.V1;
using RareCancerNetwork.Spoke.HubClient;
using RareCancerNetwork.Spoke.Referrals;
using RareCancerNetwork.Spoke.Registry;
using RareCancerNetwork.Spoke.Store;

namespace RareCancerNetwork.Spoke.Outbox;

/// <summary>
/// Delivers the outbox to the hub, oldest first, keeping order only within an ordering key (one
/// record; the audit chain). The consultation id is the idempotency key, so a delivery repeated after a
/// crash or a lost answer is applied once at the hub.
/// <list type="bullet">
/// <item>Hub unreachable, busy or rate-limiting: the call waits (exponential backoff with jitter, or the
/// delay the hub asks for) and goes on; every call starts its backoff afresh.</item>
/// <item>The hub failed on an entry (INTERNAL, UNKNOWN, ...): the entry is retried later on its own
/// schedule and parked after <see cref="DeliveryOptions.ParkAfterAttempts"/> failures; the others go on.</item>
/// <item>The hub refused an entry for good: it is kept with the reason, visible to its users.</item>
/// </list>
/// </summary>
public sealed partial class OutboxDeliveryWorker(
    OutboxStore outbox, LocalRegistryStore registry, LocalReferralStore referrals, OutboxSignal signal, HubConnection hub, IOptions<SpokeOptions> options, TimeProvider clock,
    ILogger<OutboxDeliveryWorker> logger)
    : BackgroundService
{
    // Short enough that an operator's 'outbox resend' is picked up soon; the query is one index range.
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(30);
    private const int BatchSize = 500;
    // Registry batches in flight at once, a new one sent as soon as one is answered (not in passes that wait for all):
    // while the hub stores some, others cross the network and the spoke records the answers to others and reads the next.
    // Bulk sync of 200,000 records (docs/benchmarks.md): passes of 2 5,729 records/s, of 4 6,433/s, of 8 6,862/s, of 16
    // 6,948/s; 8 in a window kept full 7,432/s.
    private const int RegistryBatchesInFlight = 8;
    // Consultations travel together too (one transaction at the hub per call), by count and by size: a call stays
    // far below the 4 MiB message limit however long the clinical texts are.
    private const int ConsultationBatchBytes = 1024 * 1024;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var hubCalls = HubRetry.Create(options.Value.Delivery, HubFailures.IsHubUnavailable,
            (attempt, delay, failure) => LogRetrying(logger, attempt, delay.TotalSeconds, HubFailures.Describe(failure)), stoppingToken);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var nextAttempt = await DeliverDueAsync(hubCalls, stoppingToken);
                var wait = nextAttempt is { } due ? TimeSpan.FromTicks(Math.Clamp((due - clock.GetUtcNow()).Ticks, 0, PollInterval.Ticks)) : PollInterval;
                await signal.WaitAsync(wait, stoppingToken);
            }
            catch (Exception) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception)
            {
                // Note: a background worker must never stop the node; the outbox is durable, so pause and go on.
                LogWorkerFailed(logger, exception.GetType().Name);
                await Task.Delay(TimeSpan.FromSeconds(options.Value.Delivery.MaxBackoffSeconds), stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    /// <summary>Delivers everything due; returns when the next delayed entry becomes due, if any.</summary>
    private async Task<DateTimeOffset?> DeliverDueAsync(ResiliencePipeline hubCalls, CancellationToken cancellationToken)
    {
        var window = new RegistryWindow(RegistryBatchesInFlight);
        try
        {
            // While registry batches are in flight, the next read starts after what was already taken up, so that it
            // finds new entries rather than those in flight (still pending until their answers are recorded).
            long readAfter = 0;
            var fromStartAt = clock.GetTimestamp();
            while (true)
            {
                if (clock.GetElapsedTime(fromStartAt) >= PollInterval)
                {
                    // An older entry whose next attempt has come (a consultation that failed once) is not left waiting
                    // behind a long registry backlog.
                    (readAfter, fromStartAt) = (0, clock.GetTimestamp());
                }
                // Batches whose answers are recorded leave the window before the read, so the read sees them delivered.
                window.Reap();
                var (inFlightIds, inFlightKeys) = window.Carried();
                var due = await outbox.DueAsync(BatchSize * RegistryBatchesInFlight, readAfter, cancellationToken);
                var sendable = Sendable(due, inFlightKeys);
                if (sendable.Count == 0)
                {
                    if (window.Count > 0)
                    {
                        // Everything read is in flight or waits behind a version in flight.
                        await window.WhenOneDoneAsync();
                        continue;
                    }
                    if (readAfter > 0)
                    {
                        // Entries before the cursor may have become due meanwhile: look from the start.
                        (readAfter, fromStartAt) = (0, clock.GetTimestamp());
                        continue;
                    }
                    return await outbox.NextAttemptAtAsync(cancellationToken);
                }
                var started = await DeliverPassAsync(hubCalls, window, sendable, cancellationToken);
                readAfter = NextReadAfter(due, inFlightIds, started);
            }
        }
        finally
        {
            // No batch outlives this call: the next one (or a restart) reads its entries as pending and would send them again.
            await window.DrainAsync();
        }
    }

    /// <summary>
    /// Of the entries just read, those that may go now: none of an ordering key with an entry in flight. That leaves out the
    /// entries in flight themselves (pending until their answers are recorded), and a record's later version, which must
    /// not overtake the one in flight.
    /// </summary>
    public static List<OutboxEntry> Sendable(IReadOnlyList<OutboxEntry> due, IReadOnlySet<string> inFlightKeys) =>
        due.Where(e => !inFlightKeys.Contains(e.OrderingKey)).ToList();

    /// <summary>
    /// Where the next read starts: just before the oldest entry read but neither in flight nor started (it waits behind a
    /// version in flight, or for a later pass), so that it is read again; otherwise after the last entry read.
    /// </summary>
    public static long NextReadAfter(IReadOnlyList<OutboxEntry> due, IReadOnlySet<long> inFlightIds, IReadOnlySet<long> started) =>
        due.Where(e => !inFlightIds.Contains(e.OutboxId) && !started.Contains(e.OutboxId)).Select(e => e.OutboxId - 1).DefaultIfEmpty(due[^1].OutboxId).Min();

    /// <summary>
    /// One pass over entries read together: an entry that fails holds back the rest of its ordering key, and only that.
    /// Entries are grouped by kind: audit entries travel together in one call, and so do registry versions (a backlog or
    /// an initial load is a few calls, not one per record), however the kinds were interleaved in the queue. Where one
    /// ordering key spans kinds (a referral, then changes to it), only its oldest kind goes in this pass; the rest follow
    /// in the next, so grouping never lets a later kind overtake.
    /// </summary>
    /// <returns>The entries sent or started in this pass.</returns>
    private async Task<HashSet<long>> DeliverPassAsync(ResiliencePipeline hubCalls, RegistryWindow window, List<OutboxEntry> entries, CancellationToken cancellationToken)
    {
        var started = new HashSet<long>();
        var heldBack = new HashSet<string>(StringComparer.Ordinal);
        foreach (var kind in ThisPass(entries).GroupBy(e => e.Kind))
        {
            if (kind.Key == LocalRegistryStore.DeliverKind)
            {
                // Batches stay in flight across passes: while the hub stores some, others cross the network and the spoke
                // records the answers to others and reads the next. Their ordering keys are disjoint (a record's versions
                // stay in one batch, in order), so none can overtake another where order matters.
                foreach (var batch in DisjointBatches(kind.ToList(), BatchSize))
                {
                    await window.StartAsync(batch, () => AttemptAsync(hubCalls, batch, cancellationToken));
                    started.UnionWith(batch.Select(e => e.OutboxId));
                }
                continue;
            }
            var runs = kind.Key switch
            {
                OutboxStore.ForwardAuditKind => kind.Chunk(BatchSize).Select(chunk => chunk.ToList()),
                OutboxStore.DeliverConsultationKind => ConsultationBatches(kind),
                _ => kind.Select(entry => new List<OutboxEntry> { entry }),
            };
            foreach (var run in runs)
            {
                started.UnionWith(run.Select(e => e.OutboxId));
                if (heldBack.Contains(run[0].OrderingKey))
                {
                    continue;
                }
                if (!await AttemptAsync(hubCalls, run, cancellationToken))
                {
                    heldBack.UnionWith(run.Select(e => e.OrderingKey));
                }
            }
        }
        return started;
    }

    /// <summary>The registry batches in flight, at most a given number, with the entries and ordering keys each carries.</summary>
    private sealed class RegistryWindow(int capacity)
    {
        private readonly List<(Task<bool> Delivery, List<OutboxEntry> Entries)> _inFlight = [];

        public int Count => _inFlight.Count;

        /// <summary>Starts a batch once fewer than the capacity are in flight.</summary>
        public async Task StartAsync(List<OutboxEntry> batch, Func<Task<bool>> deliver)
        {
            while (_inFlight.Count >= capacity)
            {
                await WhenOneDoneAsync();
                Reap();
            }
            _inFlight.Add((deliver(), batch));
        }

        public async Task WhenOneDoneAsync() =>
            await (await Task.WhenAny(_inFlight.Select(f => (Task)f.Delivery))).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);

        /// <summary>Forgets the finished batches (their answers, or their failures, are recorded by then); a failure is raised here.</summary>
        public void Reap()
        {
            var finished = _inFlight.Where(f => f.Delivery.IsCompleted).ToList();
            _inFlight.RemoveAll(f => f.Delivery.IsCompleted);
            foreach (var (delivery, _) in finished)
            {
                delivery.GetAwaiter().GetResult();
            }
        }

        public (HashSet<long> Ids, HashSet<string> Keys) Carried() =>
            (_inFlight.SelectMany(f => f.Entries).Select(e => e.OutboxId).ToHashSet(),
             _inFlight.SelectMany(f => f.Entries).Select(e => e.OrderingKey).ToHashSet(StringComparer.Ordinal));

        public async Task DrainAsync()
        {
            await Task.WhenAll(_inFlight.Select(f => (Task)f.Delivery)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            _inFlight.Clear();
        }
    }

    /// <summary>The due entries that may go in one pass grouped by kind: of each ordering key, only those of its oldest kind.</summary>
    public static IEnumerable<OutboxEntry> ThisPass(IReadOnlyList<OutboxEntry> due)
    {
        var firstKind = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in due)
        {
            firstKind.TryAdd(entry.OrderingKey, entry.Kind);
        }
        return due.Where(e => firstKind[e.OrderingKey] == e.Kind);
    }

    /// <summary>
    /// Registry entries in batches of at most <paramref name="size"/>, each ordering key wholly in one batch in its
    /// order. Versions of one record beyond a batch's size wait for the next pass, behind those sent now.
    /// </summary>
    public static IEnumerable<List<OutboxEntry>> DisjointBatches(List<OutboxEntry> entries, int size)
    {
        var batch = new List<OutboxEntry>(size);
        foreach (var record in entries.GroupBy(e => e.OrderingKey, StringComparer.Ordinal))
        {
            var versions = record.Take(size).ToList();
            if (batch.Count + versions.Count > size)
            {
                yield return batch;
                batch = new List<OutboxEntry>(size);
            }
            batch.AddRange(versions);
        }
        if (batch.Count > 0)
        {
            yield return batch;
        }
    }

    /// <summary>Consultations in calls of at most the contract's count and <see cref="ConsultationBatchBytes"/>; a larger one goes alone.</summary>
    public static IEnumerable<List<OutboxEntry>> ConsultationBatches(IEnumerable<OutboxEntry> entries)
    {
        var (batch, bytes) = (new List<OutboxEntry>(), 0L);
        foreach (var entry in entries)
        {
            if (batch.Count > 0 && (batch.Count == ContractLimits.ConsultationsPerDelivery || bytes + entry.Payload.Length > ConsultationBatchBytes))
            {
                yield return batch;
                (batch, bytes) = (new List<OutboxEntry>(), 0L);
            }
            batch.Add(entry);
            bytes += entry.Payload.Length;
        }
        if (batch.Count > 0)
        {
            yield return batch;
        }
    }

    /// <returns>False when the entries failed and wait for a later attempt (or were parked).</returns>
    private async Task<bool> AttemptAsync(ResiliencePipeline hubCalls, List<OutboxEntry> entries, CancellationToken cancellationToken)
    {
        var first = entries[0];
        var registryBatch = first.Kind == LocalRegistryStore.DeliverKind;
        var splittable = registryBatch || first.Kind == OutboxStore.DeliverConsultationKind;
        // The delivery continues the trace of the call that queued it (a consultation from the spoke's API to the hub's store);
        // a batch continues its first entry's and links the others'.
        var links = entries.Skip(1).Select(e => System.Diagnostics.ActivityContext.TryParse(e.TraceParent, null, out var other) ? other : default)
            .Where(context => context != default).Select(context => new System.Diagnostics.ActivityLink(context));
        using var activity = NodeTelemetry.Source.StartActivity($"deliver {first.Kind}", System.Diagnostics.ActivityKind.Client,
            System.Diagnostics.ActivityContext.TryParse(first.TraceParent, null, out var queuedBy) ? queuedBy : default, links: links);
        activity?.SetTag("rcn.outbox.kind", first.Kind);
        activity?.SetTag("rcn.outbox.entries", entries.Count);
        try
        {
            if (first.Kind == OutboxStore.DeliverConsultationKind)
            {
                var answer = await hubCalls.ExecuteAsync(token => RenewingTokenAsync(() => DeliverConsultationsAsync(entries, token)), cancellationToken);
                await ApplyConsultationResultsAsync(entries, answer.Results);
                return true;
            }
            var registryResults = await hubCalls.ExecuteAsync(token => RenewingTokenAsync(() => SendAsync(entries, token)), cancellationToken);
            if (registryResults is not null)
            {
                // Each version has its own answer: stored, stale (the record waits for a person), refused.
                await registry.ApplyDeliveryResultsAsync(entries, registryResults, cancellationToken);
            }
            else
            {
                await outbox.MarkDeliveredAsync(entries, cancellationToken);
            }
            var delivered = DateTimeOffset.UtcNow;
            foreach (var entry in entries.Where(e => e.CreatedAt != default))
            {
                NodeTelemetry.DeliveryLatency.Record((delivered - entry.CreatedAt).TotalSeconds, new KeyValuePair<string, object?>("rcn.outbox.kind", entry.Kind));
            }
            return true;
        }
        catch (Exception exception) when (!cancellationToken.IsCancellationRequested && HubFailures.Classify(exception) == HubFailureKind.Refused)
        {
            // Note: kept with the hub's reason, for the user (a consultation or a registry record shows REJECTED) or the
            // operator (audit entries).
            if (registryBatch)
            {
                await registry.ApplyDeliveryResultsAsync(entries, entries.Select(e => Refused(e, HubFailures.Describe(exception))).ToList(), CancellationToken.None);
            }
            else
            {
                await outbox.MarkRefusedAsync(entries, HubFailures.Describe(exception), CancellationToken.None);
                // A referral change the hub refused (the other party got there first) leaves the pending list; the reason stays shown.
                await referrals.DropRefusedTransitionsAsync(entries, CancellationToken.None);
            }
            LogRefused(logger, first.Kind, first.AggregateId, ((exception as RpcException)?.StatusCode ?? StatusCode.Unknown).ToString());
            return true;
        }
        catch (Exception exception) when (!cancellationToken.IsCancellationRequested && splittable && entries.Count > 1)
        {
            // One faulty entry must not hold back (or park) the batch around it: each half goes on its own,
            // down to the single entry the hub keeps failing on.
            LogBatchSplit(logger, entries.Count, exception.GetType().Name);
            var half = entries.Count / 2;
            var firstHalf = await AttemptAsync(hubCalls, entries[..half], cancellationToken);
            var secondHalf = await AttemptAsync(hubCalls, entries[half..], cancellationToken);
            return firstHalf && secondHalf;
        }
        catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
        {
            var delivery = options.Value.Delivery;
            var retryAfter = delivery.RetryAfter(first.Attempts);
            var parked = await outbox.RecordFailureAsync(entries, HubFailures.Describe(exception), retryAfter, delivery.ParkAfterAttempts, CancellationToken.None);
            if (parked)
            {
                LogParked(logger, first.Kind, first.AggregateId, first.Attempts + 1, exception.GetType().Name);
            }
            else
            {
                LogEntryFailed(logger, first.Kind, first.AggregateId, first.Attempts + 1, retryAfter.TotalSeconds, exception.GetType().Name);
            }
            return false;
        }
    }

    private async ValueTask<DeliverConsultationsResponse> DeliverConsultationsAsync(List<OutboxEntry> entries, CancellationToken cancellationToken)
    {
        var request = new DeliverConsultationsRequest();
        request.Consultations.AddRange(entries.Select(e => DeliverConsultationRequest.Parser.ParseFrom(e.Payload)));
        var answer = await hub.Sync.DeliverConsultationsAsync(request, deadline: DateTime.UtcNow.Add(CallTimeout), cancellationToken: cancellationToken);
        if (answer.Results.Count != entries.Count || answer.Results.Where((result, i) => result.ConsultationId != request.Consultations[i].ConsultationId).Any())
        {
            throw new InvalidDataException($"The hub answered {answer.Results.Count} of {entries.Count} consultations, or out of order.");
        }
        return answer;
    }

    /// <summary>A call to the hub that, when the hub no longer accepts our token (expired, keys rotated), fetches a new one for the next try.</summary>
    private async ValueTask<T> RenewingTokenAsync<T>(Func<ValueTask<T>> call)
    {
        try
        {
            return await call();
        }
        catch (RpcException exception) when (exception.StatusCode == StatusCode.Unauthenticated)
        {
            hub.Tokens.Invalidate();
            throw;
        }
    }

    /// <summary>Stored and repeated consultations are delivered; a refused one is kept with the hub's reason, for its users.</summary>
    private async Task ApplyConsultationResultsAsync(List<OutboxEntry> entries, Google.Protobuf.Collections.RepeatedField<ConsultationDeliveryResult> results)
    {
        // Note: the answer is in hand; recording it must not be cancelled half-way by shutdown (a repeat would only be a duplicate, but a
        // refusal would be asked again).
        var delivered = entries.Where((_, i) => results[i].Outcome != ConsultationDeliveryOutcome.Refused).ToList();
        if (delivered.Count > 0)
        {
            await outbox.MarkDeliveredAsync(delivered, CancellationToken.None);
        }
        for (var i = 0; i < entries.Count; i++)
        {
            if (results[i].Outcome == ConsultationDeliveryOutcome.Refused)
            {
                await outbox.MarkRefusedAsync([entries[i]], $"{results[i].Refusal}: {results[i].Message}", CancellationToken.None);
                LogRefused(logger, entries[i].Kind, entries[i].AggregateId, results[i].Refusal);
            }
        }
        LogConsultationsDelivered(logger, entries.Count, delivered.Count, entries.Count - delivered.Count, entries[0].Attempts + 1);
    }

    [LoggerMessage(EventId = 2108, Level = LogLevel.Information, Message = "{Count} consultations delivered to the hub ({Accepted} stored or already there, {Refused} refused; attempt {Attempt})")]
    private static partial void LogConsultationsDelivered(ILogger logger, int count, int accepted, int refused, int attempt);

    /// <returns>The hub's answer per registry version; null for the kinds the hub answers as a whole.</returns>
    private async ValueTask<IReadOnlyList<RegistryDeliveryResult>?> SendAsync(List<OutboxEntry> entries, CancellationToken cancellationToken)
    {
        switch (entries[0].Kind)
        {
            case OutboxStore.ForwardAuditKind:
                var request = new ForwardAuditEntriesRequest();
                request.Entries.AddRange(entries.Select(e => AuditEntry.Parser.ParseFrom(e.Payload)));
                await hub.Sync.ForwardAuditEntriesAsync(request, deadline: DateTime.UtcNow.Add(CallTimeout), cancellationToken: cancellationToken);
                break;
            case LocalRegistryStore.DeliverKind:
                var batch = new DeliverRegistryRecordsRequest();
                batch.Records.AddRange(entries.Select(e => RegistryRecord.Parser.ParseFrom(e.Payload)));
                var answer = await hub.Registry.DeliverRegistryRecordsAsync(batch, deadline: DateTime.UtcNow.Add(CallTimeout), cancellationToken: cancellationToken);
                if (answer.Results.Count != entries.Count)
                {
                    throw new InvalidDataException($"The hub answered {answer.Results.Count} of {entries.Count} registry versions.");
                }
                return answer.Results;
            default:
                // One message, one call; what the hub makes of it comes back through the feed.
                var call = SingleEntryCalls.GetValueOrDefault(entries[0].Kind) ?? throw new InvalidDataException($"Unknown outbox entry kind '{entries[0].Kind}'.");
                await call(entries[0].Payload, new CallOptions(deadline: DateTime.UtcNow.Add(CallTimeout), cancellationToken: cancellationToken));
                break;
        }
        return null;
    }

    /// <summary>The kinds delivered one entry per call, each by its RPC.</summary>
    private IReadOnlyDictionary<string, Func<byte[], CallOptions, Task>> SingleEntryCalls => _singleEntryCalls ??= new Dictionary<string, Func<byte[], CallOptions, Task>>
    {
        [LocalConsultationStore.WithdrawKind] = (payload, call) =>
            hub.Sync.DeliverConsultationWithdrawalAsync(DeliverConsultationWithdrawalRequest.Parser.ParseFrom(payload), call).ResponseAsync,
        [LocalConsultationStore.AnswerKind] = (payload, call) =>
            hub.Sync.DeliverInformationAnswerAsync(DeliverInformationAnswerRequest.Parser.ParseFrom(payload), call).ResponseAsync,
        [LocalConsultationStore.AcknowledgeKind] = (payload, call) =>
            hub.Sync.DeliverReportAcknowledgementAsync(DeliverReportAcknowledgementRequest.Parser.ParseFrom(payload), call).ResponseAsync,
        [LocalRegistryStore.WithdrawKind] = (payload, call) =>
            hub.Registry.DeliverRegistryWithdrawalAsync(DeliverRegistryWithdrawalRequest.Parser.ParseFrom(payload), call).ResponseAsync,
        [LocalDataQueryStore.AnswerKind] = (payload, call) =>
            hub.Registry.AnswerDataQueryAsync(AnswerDataQueryRequest.Parser.ParseFrom(payload), call).ResponseAsync,
        [LocalReferralStore.DeliverKind] = (payload, call) =>
            hub.Referrals.DeliverReferralAsync(DeliverReferralRequest.Parser.ParseFrom(payload), call).ResponseAsync,
        [LocalReferralStore.TransitionKind] = (payload, call) =>
            hub.Referrals.DeliverReferralTransitionAsync(DeliverReferralTransitionRequest.Parser.ParseFrom(payload), call).ResponseAsync,
        [Hotline.LocalHotlineStore.DeliverKind] = (payload, call) =>
            hub.Hotline.DeliverHotlineCallAsync(DeliverHotlineCallRequest.Parser.ParseFrom(payload), call).ResponseAsync,
    };

    private Dictionary<string, Func<byte[], CallOptions, Task>>? _singleEntryCalls;

    private static RegistryDeliveryResult Refused(OutboxEntry entry, string reason)
    {
        var record = RegistryRecord.Parser.ParseFrom(entry.Payload);
        return new RegistryDeliveryResult { RecordId = record.RecordId, Version = record.Version, Outcome = RegistryDeliveryOutcome.Refused, Message = reason };
    }

    [LoggerMessage(EventId = 2107, Level = LogLevel.Warning, Message = "A batch of {Count} registry versions failed at the hub ({ExceptionType}); trying its halves on their own")]
    private static partial void LogBatchSplit(ILogger logger, int count, string exceptionType);

    [LoggerMessage(EventId = 2106, Level = LogLevel.Error, Message = "Outbox delivery failed unexpectedly ({ExceptionType}); resuming after a pause")]
    private static partial void LogWorkerFailed(ILogger logger, string exceptionType);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Warning, Message = "Hub unavailable; call retried ({Attempt}) in {DelaySeconds:F1}s ({Reason})")]
    private static partial void LogRetrying(ILogger logger, int attempt, double delaySeconds, string reason);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Error, Message = "The hub refused {Kind} {AggregateId} ({StatusCode}); kept locally, not resent")]
    private static partial void LogRefused(ILogger logger, string kind, string aggregateId, string statusCode);

    [LoggerMessage(EventId = 2104, Level = LogLevel.Warning, Message = "Delivery of {Kind} {AggregateId} failed (attempt {Attempt}, {ExceptionType}); next attempt in {DelaySeconds:F0}s, others go on")]
    private static partial void LogEntryFailed(ILogger logger, string kind, string aggregateId, int attempt, double delaySeconds, string exceptionType);

    [LoggerMessage(EventId = 2105, Level = LogLevel.Error, Message = "Delivery of {Kind} {AggregateId} parked after {Attempt} failed attempts ({ExceptionType}); 'spoke outbox resend' sends it again")]
    private static partial void LogParked(ILogger logger, string kind, string aggregateId, int attempt, string exceptionType);
}
