using Npgsql;
using RareCancerNetwork.Hub.Storage;
using RareCancerNetwork.Node.Storage;

namespace RareCancerNetwork.Benchmarks;

/// <summary>
/// PostgreSQL's own raw limits on the same machine, for the hub on PostgreSQL: the hub's registry rows (its migrations: same
/// tables, indexes, triggers) inserted by plain prepared statements, 1,000 records per transaction; and one row per
/// transaction. The cluster runs durable (fsync on, synchronous_commit on), as the product's does.
/// </summary>
internal static class RawPostgres
{
    public static async Task<IReadOnlyList<double>> BatchedRegistryInsertsAsync(string connectionString, int records, int rounds)
    {
        await SchemaAsync(connectionString);
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        var rates = new List<double>();
        for (var round = 0; round < rounds; round++)
        {
            var samples = RawLimits.SampleRows(records / rounds);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            foreach (var batch in samples.Chunk(1_000))
            {
                await using var transaction = await connection.BeginTransactionAsync();
                await using var current = Prepare(connection, transaction, CurrentSql);
                await using var version = Prepare(connection, transaction, VersionSql);
                foreach (var row in batch)
                {
                    current.Parameters["id"].Value = row.Id;
                    current.Parameters["pseudonym"].Value = row.Pseudonym;
                    await current.ExecuteNonQueryAsync();
                    version.Parameters["id"].Value = row.Id;
                    version.Parameters["sha256"].Value = row.Sha256;
                    version.Parameters["record"].Value = row.Bytes;
                    await version.ExecuteNonQueryAsync();
                }
                await transaction.CommitAsync();
            }
            rates.Add(samples.Count / clock.Elapsed.TotalSeconds);
        }
        return rates;
    }

    public static async Task<double> SingleRowCommitsAsync(string connectionString, TimeSpan duration)
    {
        await SchemaAsync(connectionString);
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        var samples = RawLimits.SampleRows(50_000);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var count = 0;
        await using var current = Prepare(connection, null, CurrentSql);
        while (clock.Elapsed < duration && count < samples.Count)
        {
            await using var transaction = await connection.BeginTransactionAsync();
            current.Transaction = transaction;
            current.Parameters["id"].Value = samples[count].Id;
            current.Parameters["pseudonym"].Value = samples[count].Pseudonym;
            await current.ExecuteNonQueryAsync();
            await transaction.CommitAsync();
            count++;
        }
        return count / clock.Elapsed.TotalSeconds;
    }

    private const string CurrentSql =
        """
        INSERT INTO registry_records (record_id, spoke_node_id, facility_code, patient_pseudonym, version, enrolment_date, category, prefecture, secondary_use, updated_at)
        VALUES (@id, 'spoke-bench', 'CORE-004', @pseudonym, 1, '2025-04-10', 3, '東京都', 1, @now)
        """;

    private const string VersionSql =
        "INSERT INTO registry_record_versions (record_id, version, content_sha256, record, received_at) VALUES (@id, 1, @sha256, @record, @now)";

    /// <summary>The hub's schema by its own migrations, once per database, with the rows the registry's keys point to.</summary>
    private static async Task SchemaAsync(string connectionString)
    {
        var hub = new PostgresHubDatabase(connectionString);
        await using (hub)
        {
            await hub.MigrateAsync(CancellationToken.None);
        }
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var seed = new NpgsqlCommand(
            """
            INSERT INTO prefectures VALUES ('東京都', 'Kanto', '13') ON CONFLICT DO NOTHING;
            INSERT INTO facilities (facility_code, name_ja, designation, prefecture, region) VALUES ('CORE-004', '東京大学医学部附属病院', 1, '東京都', 'Kanto') ON CONFLICT DO NOTHING;
            INSERT INTO spoke_nodes (node_id, facility_code, registered_at) VALUES ('spoke-bench', 'CORE-004', '2026-01-01T00:00:00.0000000Z') ON CONFLICT DO NOTHING;
            """, connection);
        await seed.ExecuteNonQueryAsync();
    }

    private static NpgsqlCommand Prepare(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql)
    {
        var command = new NpgsqlCommand(sql, connection, transaction);
        foreach (var name in new[] { "id", "pseudonym", "record", "now", "sha256" }.Where(name => sql.Contains('@' + name, StringComparison.Ordinal)))
        {
            command.Parameters.Add(new NpgsqlParameter(name, name == "record" ? NpgsqlTypes.NpgsqlDbType.Bytea : NpgsqlTypes.NpgsqlDbType.Text)
            {
                Value = name == "now" ? DateTimeOffset.UtcNow.ToDbText() : "",
            });
        }
        return command;
    }
}
