using System.Data.Common;
using System.Security.Cryptography;
using System.Text;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using RareCancerNetwork.Hub.Feed;
using RareCancerNetwork.Hub.Storage;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Node.Registry;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Hub.Registry;

/// <summary>
/// Data queries on registry records. A query is raised on one field of a record's current version and
/// reaches the record's spoke through its event feed, in the same transaction; it closes when the
/// facility confirms the value, when a new version changes the field, or when the data manager withdraws
/// it, and the closing reaches the spoke the same way. Queries go with their record on a withdrawal of
/// consent.
/// </summary>
public sealed class DataQueryStore(HubDatabase database, EventFeed feed, TimeProvider clock)
{
    public async Task<(DataQuery Query, bool Duplicate)> RaiseAsync(RaiseDataQueryRequest request, string raisedBy, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var requestSha256 = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{request.RecordId}\n{request.Field}\n{request.Question}")));
        var (query, duplicate, nodeId) = await database.WriteAsync(async (connection, transaction) =>
        {
            await using (var existing = connection.Command("SELECT request_sha256, query FROM registry_data_queries WHERE query_id = @id", transaction)
                .With("@id", request.QueryId))
            await using (var reader = await existing.ExecuteReaderAsync(cancellationToken))
            {
                if (await reader.ReadAsync(cancellationToken))
                {
                    return reader.GetString(0) == requestSha256
                        ? (DataQuery.Parser.ParseFrom((byte[])reader[1]), true, "")
                        : throw new ConflictException($"Data query {request.QueryId} was raised before with another record, field or question.");
                }
            }
            string node, facility;
            RegistryRecord record;
            await using (var current = connection.Command(
                $"SELECT r.spoke_node_id, r.facility_code, v.record FROM registry_records r {RegistryStore.CurrentBytes} WHERE r.record_id = @id", transaction)
                .With("@id", request.RecordId))
            await using (var reader = await current.ExecuteReaderAsync(cancellationToken))
            {
                if (!await reader.ReadAsync(cancellationToken))
                {
                    throw new ResourceNotFoundException("Registry record", request.RecordId, "the national registry does not hold it (never delivered, or consent withdrawn)");
                }
                (node, facility, record) = (reader.GetString(0), reader.GetString(1), RegistryRecord.Parser.ParseFrom((byte[])reader[2]));
            }
            if (RegistryFieldPaths.Problem(record, request.Field) is { } problem)
            {
                throw new InvalidFieldsException([new FieldViolation("field", problem)]);
            }
            var raised = new DataQuery
            {
                QueryId = request.QueryId,
                RecordId = request.RecordId,
                FacilityCode = facility,
                Field = request.Field,
                Question = request.Question,
                RecordVersion = record.Version,
                RaisedBy = raisedBy,
                RaisedAt = Timestamp.FromDateTimeOffset(now),
                State = DataQueryState.Open,
            };
            await using (var insert = connection.Command(
                """
                INSERT INTO registry_data_queries (query_id, record_id, spoke_node_id, facility_code, state, raised_at, request_sha256, query)
                VALUES (@id, @record, @node, @facility, @state, @raised, @sha256, @query)
                """, transaction)
                .With("@id", raised.QueryId).With("@record", raised.RecordId).With("@node", node).With("@facility", facility)
                .With("@state", (int)DataQueryState.Open).With("@raised", now.ToDbText()).With("@sha256", requestSha256).With("@query", raised.ToByteArray()))
            {
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }
            await EventFeed.AppendAsync(connection, transaction, node, "", now, new SubscribeEventsResponse { DataQueryRaised = raised }, cancellationToken);
            return (raised, false, node);
        }, cancellationToken);
        if (!duplicate)
        {
            feed.Notify([nodeId]);
        }
        return (query, duplicate);
    }

    /// <summary>The facility's answer: the value is correct. A query closed before is returned as it stands.</summary>
    public Task<DataQuery> AnswerAsync(string nodeId, AnswerDataQueryRequest answer, CancellationToken cancellationToken) =>
        CloseAsync(answer.QueryId, nodeId, query =>
        {
            query.Resolution = DataQueryResolution.Confirmed;
            query.AnswerComment = answer.Comment;
            query.ClosedBy = answer.AnsweredBy;
        }, alreadyClosed: query => query, cancellationToken);

    /// <summary>The data manager withdraws a query raised in error; a repeat returns it, a query the facility closed is FAILED_PRECONDITION.</summary>
    public Task<DataQuery> CancelAsync(string queryId, string cancelledBy, CancellationToken cancellationToken) =>
        CloseAsync(queryId, null, query =>
        {
            query.Resolution = DataQueryResolution.Cancelled;
            query.ClosedBy = cancelledBy;
        }, alreadyClosed: query => query.Resolution == DataQueryResolution.Cancelled
            ? query
            : throw new PreconditionFailedException("DATA_QUERY_CLOSED", $"Data query {queryId} was closed by the facility ({query.Resolution}); there is nothing to withdraw."),
        cancellationToken);

    /// <summary>
    /// In a registry delivery's transaction: closes the open queries on <paramref name="replaced"/>'s record whose field the new
    /// version changed, and tells the spoke. Returns how many it closed (the caller wakes the feed after commit).
    /// </summary>
    public static async Task<int> CloseChangedFieldsAsync(DbConnection connection, DbTransaction transaction, string nodeId, RegistryRecord replaced,
        RegistryRecord stored, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var open = await ReadAsync(connection.Command("SELECT query FROM registry_data_queries WHERE record_id = @id AND state = @open", transaction)
            .With("@id", stored.RecordId).With("@open", (int)DataQueryState.Open), cancellationToken);
        if (open.Count == 0)
        {
            return 0;
        }
        var changed = RecordDifferences.Between(replaced, stored);
        var closed = 0;
        foreach (var query in open.Where(q => changed.Any(path => RegistryFieldPaths.Overlap(q.Field, path))))
        {
            query.Resolution = DataQueryResolution.Updated;
            query.AnsweredByVersion = stored.Version;
            query.ClosedBy = stored.UpdatedBy;
            await StoreClosedAsync(connection, transaction, nodeId, query, now, cancellationToken);
            closed++;
        }
        return closed;
    }

    /// <summary>In a withdrawal's transaction: the record's queries go with it.</summary>
    public static async Task DeleteForRecordAsync(DbConnection connection, DbTransaction transaction, string recordId, CancellationToken cancellationToken)
    {
        await using var delete = connection.Command("DELETE FROM registry_data_queries WHERE record_id = @id", transaction).With("@id", recordId);
        await delete.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Queries most recently raised first, filtered by facility, record and state.</summary>
    public async Task<(IReadOnlyList<DataQuery> Page, string NextPageToken)> ListAsync(string facilityCode, string recordId, bool openOnly, int pageSize,
        string pageToken, CancellationToken cancellationToken)
    {
        var (afterRaised, afterId) = KeysetPageToken.Decode(pageToken);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            """
            SELECT query, raised_at, query_id FROM registry_data_queries
            WHERE (@facility = '' OR facility_code = @facility) AND (@record = '' OR record_id = @record) AND (@openOnly = 0 OR state = @open)
              AND (@afterRaised IS NULL OR (raised_at, query_id) < (@afterRaised, @afterId))
            ORDER BY raised_at DESC, query_id DESC LIMIT @limit
            """)
            .With("@facility", facilityCode).With("@record", recordId).With("@openOnly", openOnly ? 1 : 0).With("@open", (int)DataQueryState.Open)
            .With("@afterRaised", afterRaised).With("@afterId", afterId).With("@limit", pageSize + 1);
        var rows = new List<(DataQuery Item, string SortKey, string Id)>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                rows.Add((DataQuery.Parser.ParseFrom((byte[])reader[0]), reader.GetString(1), reader.GetString(2)));
            }
        }
        return KeysetPage.Split(rows, pageSize);
    }

    /// <summary>Open queries per facility, in facility-code order.</summary>
    public async Task<CountOpenDataQueriesResponse> CountOpenAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            """
            SELECT q.facility_code, f.name_ja, COUNT(*), MIN(q.raised_at) FROM registry_data_queries q
            JOIN facilities f ON f.facility_code = q.facility_code
            WHERE q.state = @open GROUP BY q.facility_code, f.name_ja ORDER BY q.facility_code
            """).With("@open", (int)DataQueryState.Open);
        var response = new CountOpenDataQueriesResponse();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            response.Facilities.Add(new FacilityOpenDataQueries
            {
                FacilityCode = reader.GetString(0),
                FacilityName = reader.GetString(1),
                OpenQueries = reader.GetInt64(2),
                OldestRaisedAt = Timestamp.FromDateTimeOffset(reader.GetInstant(3)),
            });
        }
        response.TotalOpenQueries = response.Facilities.Sum(f => f.OpenQueries);
        return response;
    }

    private async Task<DataQuery> CloseAsync(string queryId, string? answeringNode, Action<DataQuery> close, Func<DataQuery, DataQuery> alreadyClosed,
        CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var (query, notify) = await database.WriteAsync(async (connection, transaction) =>
        {
            string node;
            DataQuery query;
            await using (var read = connection.Command("SELECT spoke_node_id, query FROM registry_data_queries WHERE query_id = @id", transaction).With("@id", queryId))
            await using (var reader = await read.ExecuteReaderAsync(cancellationToken))
            {
                if (!await reader.ReadAsync(cancellationToken))
                {
                    throw new ResourceNotFoundException("Data query", queryId, "never raised, or withdrawn with its record");
                }
                (node, query) = (reader.GetString(0), DataQuery.Parser.ParseFrom((byte[])reader[1]));
            }
            if (answeringNode is not null && answeringNode != node)
            {
                throw new AccessDeniedException($"Data query {queryId} is about another facility's record.");
            }
            if (query.State == DataQueryState.Closed)
            {
                return (alreadyClosed(query), (string?)null);
            }
            close(query);
            await StoreClosedAsync(connection, transaction, node, query, now, cancellationToken);
            return (query, node);
        }, cancellationToken);
        if (notify is not null)
        {
            feed.Notify([notify]);
        }
        return query;
    }

    private static async Task StoreClosedAsync(DbConnection connection, DbTransaction transaction, string nodeId, DataQuery query, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        query.State = DataQueryState.Closed;
        query.ClosedAt = Timestamp.FromDateTimeOffset(now);
        await using (var update = connection.Command("UPDATE registry_data_queries SET state = @closed, query = @query WHERE query_id = @id", transaction)
            .With("@closed", (int)DataQueryState.Closed).With("@query", query.ToByteArray()).With("@id", query.QueryId))
        {
            await update.ExecuteNonQueryAsync(cancellationToken);
        }
        await EventFeed.AppendAsync(connection, transaction, nodeId, "", now, new SubscribeEventsResponse { DataQueryClosed = query.Clone() }, cancellationToken);
    }

    private static async Task<List<DataQuery>> ReadAsync(DbCommand command, CancellationToken cancellationToken)
    {
        await using (command)
        {
            var queries = new List<DataQuery>();
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                queries.Add(DataQuery.Parser.ParseFrom((byte[])reader[0]));
            }
            return queries;
        }
    }
}
