using Google.Protobuf.WellKnownTypes;
using RareCancerNetwork.Hub.Storage;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Hub.Sync;

/// <summary>
/// What a hub restored to an earlier point does before it serves again (<c>hub restored</c>): every spoke's feed is
/// moved past anything the spoke could have read from the lost part, and every spoke is asked, with its next status
/// report, to send again what the hub acknowledged after the point. The hub's intake is idempotent, so what it still
/// holds is recognised and answered as before; what it lost comes back.
/// </summary>
public sealed class HubRestores(HubDatabase database, TimeProvider clock)
{
    /// <summary>
    /// Far more events than a spoke's feed gets between a backup and its restore: new events are numbered above any
    /// cursor a spoke saved from the lost part.
    /// </summary>
    public const long FeedSequenceGap = 1_000_000;

    public async Task<RedeliveryRequest> RecordAsync(DateTimeOffset restoredTo, string recordedBy, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        if (restoredTo > now)
        {
            throw new InvalidFieldsException([new FieldViolation("restored_to", "is in the future; give the point the hub was restored to (the backup's time)")]);
        }
        var request = new RedeliveryRequest { RequestId = Guid.CreateVersion7().ToString(), RestoredTo = Timestamp.FromDateTimeOffset(restoredTo) };
        await database.WriteAsync(async (connection, transaction) =>
        {
            await Identity.UserAccounts.RequireAdministratorAsync(connection, transaction, recordedBy, "only an administrator records a restore", cancellationToken);
            await using (var feeds = connection.Command("UPDATE spoke_feed_heads SET last_sequence = last_sequence + @gap", transaction).With("@gap", FeedSequenceGap))
            {
                await feeds.ExecuteNonQueryAsync(cancellationToken);
            }
            await using var insert = connection.Command(
                "INSERT INTO hub_restores (request_id, restored_to, recorded_at, recorded_by) VALUES (@id, @to, @now, @by)", transaction)
                .With("@id", request.RequestId).With("@to", restoredTo.ToDbText()).With("@now", now.ToDbText()).With("@by", recordedBy);
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);
        return request;
    }

    /// <summary>
    /// The restores recorded since the spoke was registered, oldest first (a handful in a hub's life; the spoke skips those it
    /// has acted on). A spoke registered after a restore has nothing to send again for it.
    /// </summary>
    public async Task<IReadOnlyList<RedeliveryRequest>> ListAsync(string nodeId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            """
            SELECT r.request_id, r.restored_to FROM hub_restores r
            WHERE r.recorded_at > (SELECT n.registered_at FROM spoke_nodes n WHERE n.node_id = @node)
            ORDER BY r.recorded_at, r.request_id
            """).With("@node", nodeId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var requests = new List<RedeliveryRequest>();
        while (await reader.ReadAsync(cancellationToken))
        {
            requests.Add(new RedeliveryRequest { RequestId = reader.GetString(0), RestoredTo = Timestamp.FromDateTimeOffset(reader.GetInstant(1)) });
        }
        return requests;
    }
}
