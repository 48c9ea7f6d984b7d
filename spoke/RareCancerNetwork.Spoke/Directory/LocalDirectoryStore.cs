using RareCancerNetwork.Node.Errors;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using RareCancerNetwork.Node.Matching;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Protos.V1;
using RareCancerNetwork.Spoke.Store;

namespace RareCancerNetwork.Spoke.Directory;

/// <summary>
/// The spoke's copy of the hub's directory. Each pulled page and the version it brings the copy to commit
/// together, so an interrupted catch-up resumes where it stopped; an entry older than the one held is ignored.
/// </summary>
public sealed class LocalDirectoryStore(SpokeDatabase database, TimeProvider clock)
{
    public async Task<DirectoryCopy> CopyAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command("SELECT version, synced_at FROM directory_copy WHERE id = 1");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new DirectoryCopy
        {
            DirectoryVersion = reader.GetInt64(0),
            SyncedAt = reader.IsDBNull(1) ? null : Timestamp.FromDateTimeOffset(SqlCommands.ParseDbInstant(reader.GetString(1))),
        };
    }

    public Task ApplyAsync(PullDirectoryResponse page, CancellationToken cancellationToken) => database.WriteAsync(async (connection, transaction) =>
    {
        // An entry of a kind this spoke does not know (from a newer hub) is skipped, not a reason to stall.
        foreach (var (entry, identity) in page.Entries.Select(e => (e, DirectoryEntries.Identity(e))).Where(e => e.Item2 is not null))
        {
            var (kind, key) = identity!.Value;
            await using var upsert = connection.Command(
                """
                INSERT INTO directory_entries (kind, entry_key, version, entry) VALUES ($kind, $key, $version, $entry)
                ON CONFLICT (kind, entry_key) DO UPDATE SET version = excluded.version, entry = excluded.entry WHERE excluded.version > directory_entries.version
                """, transaction)
                .With("$kind", kind).With("$key", key).With("$version", DirectoryEntries.Version(entry)).With("$entry", entry.ToByteArray());
            await upsert.ExecuteNonQueryAsync(cancellationToken);
        }
        await using (var copy = connection.Command("UPDATE directory_copy SET version = MAX(version, $version), synced_at = $now WHERE id = 1", transaction)
            .With("$version", page.ThroughVersion).With("$now", clock.GetUtcNow().ToDbText()))
        {
            await copy.ExecuteNonQueryAsync(cancellationToken);
        }
    }, cancellationToken);

    /// <summary>The facilities of the copy; FAILED_PRECONDITION while the spoke has not received the directory yet.</summary>
    public async Task<List<Facility>> RequireFacilitiesAsync(CancellationToken cancellationToken)
    {
        var facilities = await FacilitiesAsync(cancellationToken);
        return facilities.Count > 0
            ? facilities
            : throw new PreconditionFailedException("DIRECTORY_NOT_RECEIVED", "This spoke has not received the directory from the hub yet; try again once it has connected.");
    }

    public async Task<List<Facility>> FacilitiesAsync(CancellationToken cancellationToken) =>
        [.. (await ReadAsync(DirectoryEntries.FacilityKind, cancellationToken)).Select(e => e.Facility)];

    public async Task<List<DirectoryExpert>> ExpertsAsync(CancellationToken cancellationToken) =>
        [.. (await ReadAsync(DirectoryEntries.ExpertKind, cancellationToken)).Select(e => e.Expert)];

    public async Task<List<Trial>> TrialsAsync(CancellationToken cancellationToken) =>
        [.. (await ReadAsync(DirectoryEntries.TrialKind, cancellationToken)).Select(e => e.Trial)];

    private async Task<List<DirectoryEntry>> ReadAsync(string kind, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command("SELECT entry FROM directory_entries WHERE kind = $kind ORDER BY entry_key").With("$kind", kind);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var entries = new List<DirectoryEntry>();
        while (await reader.ReadAsync(cancellationToken))
        {
            entries.Add(DirectoryEntry.Parser.ParseFrom((byte[])reader[0]));
        }
        return entries;
    }
}
