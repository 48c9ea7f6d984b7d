using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Protos.V1;
using RareCancerNetwork.Spoke.Feed;
using RareCancerNetwork.Spoke.Outbox;
using RareCancerNetwork.Spoke.Pseudonymisation;
using RareCancerNetwork.Spoke.Store;

namespace RareCancerNetwork.Spoke.Tests;

/// <summary>A migrated spoke cache in a temp folder with the real pseudonymiser, outbox and feed store.</summary>
public sealed class SpokeStoreFixture : IAsyncDisposable
{
    private SpokeStoreFixture(string folder, string facilityCode)
    {
        Folder = folder;
        Options = Microsoft.Extensions.Options.Options.Create(new SpokeOptions { NodeId = "spoke-test", FacilityCode = facilityCode, DataFolder = folder });
        Database = new SpokeDatabase(Options);
        Pseudonymizer = new PatientPseudonymizer(Options);
        Outbox = new OutboxStore(Database, TimeProvider.System);
        Store = new LocalConsultationStore(Database, Pseudonymizer, new OutboxSignal(), TimeProvider.System);
        Feed = new FeedStore(Database, Options, TimeProvider.System);
    }

    public string Folder { get; }
    public IOptions<SpokeOptions> Options { get; }
    public SpokeDatabase Database { get; }
    public PatientPseudonymizer Pseudonymizer { get; }
    public OutboxStore Outbox { get; }
    public LocalConsultationStore Store { get; }
    public FeedStore Feed { get; }

    /// <param name="targetVersion">Migrate only this far (a store as an earlier release left it); all the way when null.</param>
    public static async Task<SpokeStoreFixture> CreateAsync(string? folder = null, string facilityCode = "CORE-004", int? targetVersion = null)
    {
        var cache = new SpokeStoreFixture(folder ?? Path.Combine(Path.GetTempPath(), $"rcn-spoke-unit-{Guid.CreateVersion7():N}"), facilityCode);
        await cache.Database.Database.MigrateAsync(CancellationToken.None, targetVersion);
        return cache;
    }

    public static SubmitConsultationRequest Submission(string? patient = null) => new()
    {
        ConsultationId = Guid.CreateVersion7().ToString(),
        LocalPatientId = patient ?? $"P-{Guid.NewGuid():N}",
        Details = new ConsultationDetails { ClinicalSummary = "右大腿腫瘤", OrganSystem = OrganSystem.SoftTissue },
    };

    public async Task<long> ScalarAsync(string sql)
    {
        await using var connection = await Database.OpenAsync(CancellationToken.None);
        await using var command = connection.Command(sql);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    public ValueTask DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        System.IO.Directory.Delete(Folder, recursive: true);
        return ValueTask.CompletedTask;
    }
}
