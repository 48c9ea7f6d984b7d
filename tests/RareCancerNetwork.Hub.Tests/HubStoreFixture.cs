using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using RareCancerNetwork.Hub.Consultations;
using RareCancerNetwork.Hub.Feed;
using RareCancerNetwork.Hub.Storage;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Hub.Tests;

/// <summary>A migrated hub store in a temp folder, with a facility, a spoke node and helpers to add experts.</summary>
public sealed class HubStore : IAsyncDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), $"rcn-hub-unit-{Guid.CreateVersion7():N}");

    private HubStore()
    {
        Database = new HubDatabase(Options.Create(new HubOptions { DataFolder = _folder }));
        Feed = new EventFeed(Database);
        Store = new ConsultationStore(Database, Feed, TimeProvider.System);
    }

    public HubDatabase Database { get; }
    public EventFeed Feed { get; }
    public ConsultationStore Store { get; }
    public const string NodeId = "spoke-test";

    public static async Task<HubStore> CreateAsync()
    {
        var store = new HubStore();
        await store.Database.Database.MigrateAsync(CancellationToken.None);
        await store.ExecuteAsync(
            """
            INSERT INTO prefectures VALUES ('東京都', 'Kanto', '13');
            INSERT INTO facilities VALUES ('CORE-004', '東京大学医学部附属病院', 1, '東京都', 'Kanto');
            INSERT INTO spoke_nodes (node_id, facility_code, registered_at) VALUES ('spoke-test', 'CORE-004', '2026-01-01T00:00:00.0000000Z');
            """);
        return store;
    }

    public Task AddExpertAsync(string expertId, int capacity, params OrganSystem[] specialties) =>
        ExecuteAsync($"INSERT INTO experts (expert_id, display_name, capacity, registered_at) VALUES ('{expertId}', '{expertId}', {capacity}, '2026-01-01T00:00:00.0000000Z');"
            + string.Concat(specialties.Select(s => $"INSERT INTO expert_specialties VALUES ('{expertId}', {(int)s});")));

    public async Task<string> DeliverAsync(OrganSystem organ = OrganSystem.SoftTissue, Urgency urgency = Urgency.Routine)
    {
        var request = new DeliverConsultationRequest
        {
            ConsultationId = Guid.CreateVersion7().ToString(),
            RequestingFacilityCode = "CORE-004",
            PatientPseudonym = new string('a', 64),
            SubmittedBy = "tester",
            SubmittedAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
            Details = new ConsultationDetails { OrganSystem = organ, Urgency = urgency, ClinicalSummary = "要約" },
        };
        await Store.DeliverAsync(NodeId, request, CancellationToken.None);
        return request.ConsultationId;
    }

    public async Task<string?> AssigneeAsync(string consultationId)
    {
        await using var connection = await Database.OpenAsync(CancellationToken.None);
        await using var command = connection.Command("SELECT assigned_expert_id FROM consultations WHERE consultation_id = $id").With("$id", consultationId);
        return await command.ExecuteScalarAsync() as string;
    }

    public async Task<long> ScalarAsync(string sql)
    {
        await using var connection = await Database.OpenAsync(CancellationToken.None);
        await using var command = connection.Command(sql);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    public async Task ExecuteAsync(string sql)
    {
        await using var connection = await Database.OpenAsync(CancellationToken.None);
        await using var command = connection.Command(sql);
        await command.ExecuteNonQueryAsync();
    }

    public async ValueTask DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        await Task.Yield();
        System.IO.Directory.Delete(_folder, recursive: true);
    }
}
