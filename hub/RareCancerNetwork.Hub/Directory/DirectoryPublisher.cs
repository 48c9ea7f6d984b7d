using System.Data.Common;
using Google.Protobuf;
using RareCancerNetwork.Hub.Feed;
using RareCancerNetwork.Node.Matching;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Hub.Directory;

/// <summary>
/// Publishes the directory spokes copy. Inside the transaction of any change to facilities, spokes,
/// experts or trials, it rebuilds every entry from the hub's tables, gives each entry whose content
/// changed the next directory version, and tells every active spoke through its feed. Rebuilding
/// everything (a few hundred rows) keeps derived values right without tracking what depends on what:
/// registering a spoke changes which spoke serves many facilities.
/// </summary>
public static class DirectoryPublisher
{
    public const string FacilityKind = DirectoryEntries.FacilityKind;
    public const string ExpertKind = DirectoryEntries.ExpertKind;
    public const string TrialKind = DirectoryEntries.TrialKind;

    /// <summary>The change, if any: the new directory version and the spokes told of it (to wake after commit).</summary>
    public sealed record Publication(long Version, IReadOnlyList<string> NotifiedNodes);

    public static async Task<Publication?> RepublishAsync(DbConnection connection, DbTransaction transaction, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var entries = new List<DirectoryEntry>();
        entries.AddRange((await FacilitiesAsync(connection, transaction, cancellationToken)).Select(f => new DirectoryEntry { Facility = f }));
        entries.AddRange((await ExpertsAsync(connection, transaction, cancellationToken)).Select(e => new DirectoryEntry { Expert = e }));
        entries.AddRange((await TrialsAsync(connection, transaction, cancellationToken)).Select(t => new DirectoryEntry { Trial = t }));

        var published = new Dictionary<(string, string), byte[]>();
        await using (var read = connection.Command("SELECT kind, entry_key, entry FROM directory_entries", transaction))
        await using (var reader = await read.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                published[(reader.GetString(0), reader.GetString(1))] = (byte[])reader[2];
            }
        }

        long? version = null;
        foreach (var entry in entries)
        {
            var (kind, key) = DirectoryEntries.Identity(entry)!.Value;
            // The version lives in its column: the stored bytes are the content alone, so equal content compares equal.
            var bytes = entry.ToByteArray();
            if (published.TryGetValue((kind, key), out var old) && old.AsSpan().SequenceEqual(bytes))
            {
                continue;
            }
            await using (var next = connection.Command("UPDATE directory_head SET last_version = last_version + 1 WHERE id = 1 RETURNING last_version", transaction))
            {
                version = await next.ScalarInt64Async(cancellationToken);
            }
            await using var upsert = connection.Command(
                """
                INSERT INTO directory_entries (kind, entry_key, version, entry) VALUES (@kind, @key, @version, @entry)
                ON CONFLICT (kind, entry_key) DO UPDATE SET version = excluded.version, entry = excluded.entry
                """, transaction)
                .With("@kind", kind).With("@key", key).With("@version", version.Value).With("@entry", bytes);
            await upsert.ExecuteNonQueryAsync(cancellationToken);
        }
        if (version is null)
        {
            return null;
        }
        var nodes = new List<string>();
        await using (var active = connection.Command("SELECT node_id FROM spoke_nodes WHERE revoked_at IS NULL ORDER BY node_id", transaction))
        await using (var reader = await active.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                nodes.Add(reader.GetString(0));
            }
        }
        foreach (var node in nodes)
        {
            await EventFeed.AppendAsync(connection, transaction, node, "", now,
                new SubscribeEventsResponse { DirectoryChanged = new DirectoryChanged { DirectoryVersion = version.Value } }, cancellationToken);
        }
        return new Publication(version.Value, nodes);
    }

    /// <summary>Published entries of one kind, each with its version, in key order.</summary>
    public static Task<List<DirectoryEntry>> ReadAsync(DbConnection connection, string kind, CancellationToken cancellationToken, DbTransaction? transaction = null) =>
        ReadAsync(connection.Command("SELECT version, entry FROM directory_entries WHERE kind = @kind ORDER BY entry_key", transaction).With("@kind", kind),
            cancellationToken);

    /// <summary>One published entry (a key look-up), or null.</summary>
    public static async Task<DirectoryEntry?> ReadOneAsync(DbConnection connection, string kind, string key, CancellationToken cancellationToken) =>
        (await ReadAsync(connection.Command("SELECT version, entry FROM directory_entries WHERE kind = @kind AND entry_key = @key").With("@kind", kind).With("@key", key),
            cancellationToken)).SingleOrDefault();

    private static async Task<List<DirectoryEntry>> ReadAsync(DbCommand command, CancellationToken cancellationToken)
    {
        await using (command)
        {
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var entries = new List<DirectoryEntry>();
            while (await reader.ReadAsync(cancellationToken))
            {
                entries.Add(DirectoryEntries.WithVersion(DirectoryEntry.Parser.ParseFrom((byte[])reader[1]), reader.GetInt64(0)));
            }
            return entries;
        }
    }

    /// <summary>
    /// The entries changed after a version, oldest change first; one more than asked tells whether more follow.
    /// The head version always belongs to a row (an entry only ever moves to a newer version), so the last
    /// version returned is all the spoke needs to hold.
    /// </summary>
    public static async Task<PullDirectoryResponse> PullAsync(DbConnection connection, long afterVersion, int pageSize, CancellationToken cancellationToken)
    {
        var response = new PullDirectoryResponse { ThroughVersion = afterVersion };
        await using var command = connection.Command("SELECT version, entry FROM directory_entries WHERE version > @after ORDER BY version LIMIT @limit")
            .With("@after", afterVersion).With("@limit", pageSize + 1);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            if (response.Entries.Count == pageSize)
            {
                response.More = true;
                break;
            }
            var version = reader.GetInt64(0);
            response.Entries.Add(DirectoryEntries.WithVersion(DirectoryEntry.Parser.ParseFrom((byte[])reader[1]), version));
            response.ThroughVersion = version;
        }
        return response;
    }

    public static async Task<long> VersionAsync(DbConnection connection, CancellationToken cancellationToken, DbTransaction? transaction = null)
    {
        await using var head = connection.Command("SELECT last_version FROM directory_head WHERE id = 1", transaction);
        return await head.ScalarInt64Async(cancellationToken);
    }

    private static async Task<List<Facility>> FacilitiesAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken)
    {
        var specialties = await GroupedAsync(connection, transaction, "SELECT facility_code, organ_system FROM facility_specialties ORDER BY facility_code, organ_system", cancellationToken);
        var spokes = new List<(string NodeId, string FacilityCode, string Prefecture, string Region)>();
        await using (var command = connection.Command(
            """
            SELECT n.node_id, n.facility_code, f.prefecture, f.region FROM spoke_nodes n JOIN facilities f ON f.facility_code = n.facility_code
            WHERE n.revoked_at IS NULL ORDER BY n.registered_at, n.node_id
            """, transaction))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                spokes.Add((reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3)));
            }
        }
        var facilities = new List<Facility>();
        await using (var command = connection.Command(
            """
            SELECT facility_code, name_ja, designation, prefecture, region, rare_cancer_core_center, served_by_node_override, retired_at, contact_url
            FROM facilities ORDER BY facility_code
            """, transaction))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                var facility = new Facility
                {
                    FacilityCode = reader.GetString(0),
                    NameJa = reader.GetString(1),
                    Designation = (FacilityDesignation)reader.GetInt32(2),
                    Prefecture = reader.GetString(3),
                    Region = reader.GetString(4),
                    Retired = !reader.IsDBNull(7),
                    ContactUrl = reader.GetString(8),
                };
                facility.Designations.Add(facility.Designation);
                if (reader.GetInt32(5) != 0)
                {
                    facility.Designations.Add(FacilityDesignation.RareCancerCoreCenter);
                }
                facility.OrganSpecialties.AddRange(specialties.GetValueOrDefault(facility.FacilityCode, []).Select(o => (OrganSystem)o));
                var serving = ServingSpoke(facility, reader.GetNullableString(6), spokes);
                if (serving is { } spoke)
                {
                    facility.ServingNodeId = spoke.NodeId;
                    facility.ServingFacilityCode = spoke.FacilityCode;
                }
                facilities.Add(facility);
            }
        }
        return facilities;
    }

    /// <summary>
    /// Who serves a facility: the administrator's choice while that spoke is active; else the spoke the
    /// facility runs itself; else the first-registered spoke of its prefecture, then of its region (a
    /// region's core center serves its hospitals); else the network's first spoke, so that every referral
    /// has a destination as soon as one spoke exists.
    /// </summary>
    private static (string NodeId, string FacilityCode, string Prefecture, string Region)? ServingSpoke(Facility facility, string? overrideNode,
        IReadOnlyList<(string NodeId, string FacilityCode, string Prefecture, string Region)> spokes)
    {
        foreach (var choose in new Func<(string NodeId, string FacilityCode, string Prefecture, string Region), bool>[]
        {
            s => s.NodeId == overrideNode,
            s => s.FacilityCode == facility.FacilityCode,
            s => s.Prefecture == facility.Prefecture,
            s => s.Region == facility.Region,
            _ => true,
        })
        {
            foreach (var spoke in spokes)
            {
                if (choose(spoke))
                {
                    return spoke;
                }
            }
        }
        return null;
    }

    private static async Task<List<DirectoryExpert>> ExpertsAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken)
    {
        var specialties = await GroupedAsync(connection, transaction, "SELECT expert_id, organ_system FROM expert_specialties ORDER BY expert_id, organ_system", cancellationToken);
        var experts = new List<DirectoryExpert>();
        await using var command = connection.Command("SELECT expert_id, display_name, active FROM experts ORDER BY expert_id", transaction);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var expert = new DirectoryExpert { ExpertId = reader.GetString(0), DisplayName = reader.GetString(1), Retired = reader.GetInt32(2) == 0 };
            expert.OrganSpecialties.AddRange(specialties.GetValueOrDefault(expert.ExpertId, []).Select(o => (OrganSystem)o));
            experts.Add(expert);
        }
        return experts;
    }

    private static async Task<List<Trial>> TrialsAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken)
    {
        var trials = new List<Trial>();
        await using var command = connection.Command("SELECT trial, retired_at FROM trials ORDER BY trial_id", transaction);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var trial = Trial.Parser.ParseFrom((byte[])reader[0]);
            trial.Retired = !reader.IsDBNull(1);
            trials.Add(trial);
        }
        return trials;
    }

    private static async Task<Dictionary<string, List<int>>> GroupedAsync(DbConnection connection, DbTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        var groups = new Dictionary<string, List<int>>();
        await using var command = connection.Command(sql, transaction);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var key = reader.GetString(0);
            if (!groups.TryGetValue(key, out var list))
            {
                groups[key] = list = [];
            }
            list.Add(reader.GetInt32(1));
        }
        return groups;
    }
}
