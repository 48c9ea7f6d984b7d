using Google.Protobuf;
using Microsoft.Data.Sqlite;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Protos.V1;
using RareCancerNetwork.Spoke.Outbox;
using RareCancerNetwork.Spoke.Store;

namespace RareCancerNetwork.Spoke.Registry;

/// <summary>
/// The data queries the national registry raised on the facility's records. They arrive through the
/// hub's feed (<see cref="ApplyAsync"/>, in the feed's own
/// transaction); the facility's answer that a value is correct goes to the hub through the outbox, and
/// the other answer is an update of the record. Either way the hub closes the query and the feed says so.
/// </summary>
public sealed class LocalDataQueryStore(SpokeDatabase database, OutboxSignal outboxSignal, TimeProvider clock)
{
    public const string AnswerKind = "answer_data_query";

    // Note: an answer has its own ordering key, so ordering keys never span kinds (the outbox groups by kind).
    public static string OrderingKey(string queryId) => $"data-query:{queryId}";

    private const string Columns =
        $"""
        q.query, r.local_patient_id,
        EXISTS (SELECT 1 FROM outbox o WHERE o.kind = '{AnswerKind}' AND o.aggregate_id = q.query_id AND o.delivered_at IS NULL AND o.failed_at IS NULL),
        (SELECT o.last_error FROM outbox o WHERE o.kind = '{AnswerKind}' AND o.aggregate_id = q.query_id AND o.failed_at IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM outbox later WHERE later.kind = o.kind AND later.aggregate_id = o.aggregate_id AND later.outbox_id > o.outbox_id)),
        q.raised_at, q.query_id
        """;

    /// <summary>Queues the facility's answer that the value is correct. A repeat while it waits returns the query as it stands.</summary>
    public async Task<LocalDataQuery> ConfirmAsync(string answeredBy, string queryId, string comment, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var (view, queued) = await database.WriteAsync(async (connection, transaction) =>
        {
            var current = await ReadAsync(connection, transaction, queryId, cancellationToken);
            if (current.Query.State == DataQueryState.Closed)
            {
                throw new PreconditionFailedException("DATA_QUERY_CLOSED",
                    $"Data query {queryId} is closed ({current.Query.Resolution}); there is nothing to answer.");
            }
            if (current.AnswerPending)
            {
                return (current, false);
            }
            var answer = new AnswerDataQueryRequest { QueryId = queryId, Comment = comment, AnsweredBy = answeredBy };
            await OutboxStore.EnqueueAsync(connection, transaction, AnswerKind, queryId, OrderingKey(queryId), answer.ToByteArray(), now, cancellationToken);
            return (await ReadAsync(connection, transaction, queryId, cancellationToken), true);
        }, cancellationToken);
        if (queued)
        {
            outboxSignal.Wake();
        }
        return view;
    }

    /// <summary>Queries most recently raised first, open ones only or all, of one record or all.</summary>
    public async Task<(IReadOnlyList<LocalDataQuery> Page, string NextPageToken)> ListAsync(bool openOnly, string recordId, int pageSize, string pageToken,
        CancellationToken cancellationToken)
    {
        var (afterRaised, afterId) = KeysetPageToken.Decode(pageToken);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            $"""
            SELECT {Columns} FROM registry_data_queries q JOIN registry_records r ON r.record_id = q.record_id
            WHERE ($openOnly = 0 OR q.state = $open) AND ($record = '' OR q.record_id = $record)
              AND ($afterRaised IS NULL OR (q.raised_at, q.query_id) < ($afterRaised, $afterId))
            ORDER BY q.raised_at DESC, q.query_id DESC LIMIT $limit
            """)
            .With("$openOnly", openOnly ? 1 : 0).With("$open", (int)DataQueryState.Open).With("$record", recordId)
            .With("$afterRaised", afterRaised).With("$afterId", afterId).With("$limit", pageSize + 1);
        var rows = new List<(LocalDataQuery Item, string SortKey, string Id)>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                rows.Add((ReadView(reader), reader.GetString(4), reader.GetString(5)));
            }
        }
        return KeysetPage.Split(rows, pageSize);
    }

    /// <summary>
    /// A query raised or closed at the hub, as its feed event carries it. A closing replaces what the spoke holds; a
    /// raising never reopens a query already closed. False when the spoke no longer holds the record (consent withdrawn).
    /// </summary>
    public static async Task<bool> ApplyAsync(SqliteConnection connection, SqliteTransaction transaction, DataQuery query, string now,
        CancellationToken cancellationToken)
    {
        await using (var exists = connection.Command("SELECT 1 FROM registry_records WHERE record_id = $id", transaction).With("$id", query.RecordId))
        {
            if (await exists.ExecuteScalarAsync(cancellationToken) is null)
            {
                return false;
            }
        }
        await using var upsert = connection.Command(
            """
            INSERT INTO registry_data_queries (query_id, record_id, state, raised_at, query, received_at, updated_at)
            VALUES ($id, $record, $state, $raised, $query, $now, $now)
            ON CONFLICT (query_id) DO UPDATE SET state = excluded.state, query = excluded.query, updated_at = excluded.updated_at
            WHERE excluded.state = $closed
            """, transaction)
            .With("$id", query.QueryId).With("$record", query.RecordId).With("$state", (int)query.State).With("$closed", (int)DataQueryState.Closed)
            .With("$raised", query.RaisedAt.ToDateTimeOffset().ToDbText()).With("$query", query.ToByteArray()).With("$now", now);
        await upsert.ExecuteNonQueryAsync(cancellationToken);
        return true;
    }

    /// <summary>In a withdrawal's transaction: the record's queries go with it, and answers still queued are taken out of delivery.</summary>
    public static async Task DeleteForRecordAsync(SqliteConnection connection, SqliteTransaction transaction, string recordId, string now,
        CancellationToken cancellationToken)
    {
        var queryIds = new List<string>();
        await using (var select = connection.Command("SELECT query_id FROM registry_data_queries WHERE record_id = $id", transaction).With("$id", recordId))
        await using (var reader = await select.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                queryIds.Add(reader.GetString(0));
            }
        }
        foreach (var queryId in queryIds)
        {
            await OutboxStore.SupersedeAsync(connection, transaction, OrderingKey(queryId), "superseded: consent withdrawn", now, cancellationToken);
            // The answer's comment is about the record: it goes with it.
            await using var blank = connection.Command("UPDATE outbox SET payload = x'' WHERE ordering_key = $key", transaction).With("$key", OrderingKey(queryId));
            await blank.ExecuteNonQueryAsync(cancellationToken);
        }
        await using var delete = connection.Command("DELETE FROM registry_data_queries WHERE record_id = $id", transaction).With("$id", recordId);
        await delete.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<LocalDataQuery> ReadAsync(SqliteConnection connection, SqliteTransaction transaction, string queryId, CancellationToken cancellationToken)
    {
        await using var command = connection.Command(
            $"SELECT {Columns} FROM registry_data_queries q JOIN registry_records r ON r.record_id = q.record_id WHERE q.query_id = $id", transaction)
            .With("$id", queryId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? ReadView(reader)
            : throw new ResourceNotFoundException("Data query", queryId, "not raised on this facility's records, or withdrawn with its record");
    }

    private static LocalDataQuery ReadView(SqliteDataReader reader) => new()
    {
        Query = DataQuery.Parser.ParseFrom((byte[])reader[0]),
        LocalPatientId = reader.GetString(1),
        AnswerPending = reader.GetInt64(2) != 0,
        AnswerError = reader.IsDBNull(3) ? "" : reader.GetString(3),
    };
}
