using Microsoft.Data.Sqlite;
using RareCancerNetwork.Hub.Consultations;
using RareCancerNetwork.Hub.Feed;
using RareCancerNetwork.Hub.Storage;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Protos.V1;
using RareCancerNetwork.Tests.Shared;

namespace RareCancerNetwork.Hub.Tests;

/// <summary>
/// A migrated hub store on either provider (a SQLite file in a temp folder, or a fresh database in the
/// throwaway PostgreSQL cluster), with a facility, a spoke node and helpers to add experts. The store
/// tests run once per provider from the same code.
/// </summary>
public sealed class HubStore : IAsyncDisposable
{
    private readonly string _folder;
    private readonly bool _ownsFolder;

    private HubStore(HubStorageProvider provider, string? connectionString, string? sharedFolder = null)
    {
        _ownsFolder = sharedFolder is null;
        _folder = sharedFolder ?? Path.Combine(Path.GetTempPath(), $"rcn-hub-unit-{Guid.CreateVersion7():N}");
        Options = new HubOptions { DataFolder = _folder, Storage = new HubStorageOptions { Provider = provider, ConnectionString = connectionString } };
        Database = HubDatabase.Create(Options);
        Feed = new EventFeed(Database);
        Store = new ConsultationStore(Database, Feed, TimeProvider.System);
    }

    public HubOptions Options { get; }
    public HubDatabase Database { get; }
    public EventFeed Feed { get; }
    public ConsultationStore Store { get; }
    public HubStorageProvider Provider => Database.Provider;
    public const string NodeId = "spoke-test";

    /// <summary>A store with the schema up to <paramref name="targetVersion"/> (all when null) and no rows.</summary>
    public static async Task<HubStore> CreateEmptyAsync(HubStorageProvider provider, int? targetVersion = null)
    {
        var connectionString = provider == HubStorageProvider.Postgres ? await (await PostgresCluster.SharedAsync()).CreateDatabaseAsync() : null;
        var store = new HubStore(provider, connectionString);
        await store.Database.MigrateAsync(CancellationToken.None, targetVersion);
        return store;
    }

    public static async Task<HubStore> CreateAsync(HubStorageProvider provider = HubStorageProvider.Sqlite)
    {
        var store = await CreateEmptyAsync(provider);
        await store.ExecuteAsync(
            """
            INSERT INTO prefectures VALUES ('東京都', 'Kanto', '13');
            INSERT INTO facilities (facility_code, name_ja, designation, prefecture, region) VALUES ('CORE-004', '東京大学医学部附属病院', 1, '東京都', 'Kanto');
            INSERT INTO spoke_nodes (node_id, facility_code, registered_at) VALUES ('spoke-test', 'CORE-004', '2026-01-01T00:00:00.0000000Z');
            """);
        return store;
    }

    /// <summary>Another handle on the same store, as a second hub instance would have.</summary>
    public HubStore SecondInstance() => new(Provider, Options.Storage.ConnectionString, _folder);

    public Task AddExpertAsync(string expertId, int capacity, params OrganSystem[] specialties) =>
        ExecuteAsync($"INSERT INTO experts (expert_id, display_name, capacity, registered_at) VALUES ('{expertId}', '{expertId}', {capacity}, '2026-01-01T00:00:00.0000000Z');"
            + string.Concat(specialties.Select(s => $"INSERT INTO expert_specialties VALUES ('{expertId}', {(int)s});")));

    public static DeliverConsultationRequest NewDelivery(OrganSystem organ = OrganSystem.SoftTissue, Urgency urgency = Urgency.Routine) => new()
    {
        ConsultationId = Guid.CreateVersion7().ToString(),
        RequestingFacilityCode = "CORE-004",
        PatientPseudonym = new string('a', 64),
        SubmittedBy = "tester",
        SubmittedAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
        Details = new ConsultationDetails { OrganSystem = organ, Urgency = urgency, ClinicalSummary = "要約" },
    };

    public async Task<string> DeliverAsync(OrganSystem organ = OrganSystem.SoftTissue, Urgency urgency = Urgency.Routine)
    {
        var request = NewDelivery(organ, urgency);
        await Store.DeliverAsync(NodeId, request, CancellationToken.None);
        return request.ConsultationId;
    }

    public async Task<string?> AssigneeAsync(string consultationId)
    {
        await using var connection = await Database.OpenAsync(CancellationToken.None);
        await using var command = connection.Command("SELECT assigned_expert_id FROM consultations WHERE consultation_id = @id").With("@id", consultationId);
        return await command.ExecuteScalarAsync() as string;
    }

    public async Task<long> ScalarAsync(string sql)
    {
        await using var connection = await Database.OpenAsync(CancellationToken.None);
        await using var command = connection.Command(sql);
        return await command.ScalarInt64Async(CancellationToken.None);
    }

    public async Task ExecuteAsync(string sql)
    {
        await using var connection = await Database.OpenAsync(CancellationToken.None);
        await using var command = connection.Command(sql);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>What someone with write access to the database could do: drop a table's guards, then change rows.</summary>
    public Task TamperAsync(string table, string sql) => ExecuteAsync(Provider == HubStorageProvider.Postgres
        ? $"ALTER TABLE {table} DISABLE TRIGGER USER; {sql}"
        : string.Concat(TriggersOf(table).Select(t => $"DROP TRIGGER {t}; ")) + sql);

    private static string[] TriggersOf(string table) => table switch
    {
        "audit_log" => ["audit_log_no_update", "audit_log_no_delete"],
        "consultation_reports" => ["consultation_reports_append_only_update", "consultation_reports_append_only_delete"],
        _ => throw new ArgumentOutOfRangeException(nameof(table)),
    };

    public async ValueTask DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        if (Database is IAsyncDisposable disposable)
        {
            await disposable.DisposeAsync();
        }
        await Task.Yield();
        if (_ownsFolder && System.IO.Directory.Exists(_folder))
        {
            System.IO.Directory.Delete(_folder, recursive: true);
        }
    }
}
