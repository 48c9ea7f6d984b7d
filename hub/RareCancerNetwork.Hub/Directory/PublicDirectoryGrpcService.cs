using Grpc.Core;
using RareCancerNetwork.Hub.Storage;
using RareCancerNetwork.Node.Hotline;
using RareCancerNetwork.Node.Matching;
using RareCancerNetwork.Node.Validation;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Hub.Directory;

/// <summary>
/// The public facility finder's endpoint: no sign-in, the directory's public fields only. Answers from a copy of the published
/// facilities kept in memory for <see cref="PublicDirectoryCopy.MaxAge"/>, so a crowd of visitors costs the database one read a
/// minute, not one per search, and the finder keeps answering while the hub's store is busy.
/// </summary>
public sealed class PublicDirectoryGrpcService(PublicDirectoryCopy copy) : PublicDirectoryService.PublicDirectoryServiceBase
{
    public override async Task<FindFacilitiesResponse> FindFacilities(FindFacilitiesRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        v.OptionalEnum("organ_system", request.OrganSystem);
        DirectorySearch.Validate(v, "", new FacilityFilter { Prefecture = request.Prefecture, Region = request.Region, Designation = request.Designation });
        v.ThrowIfInvalid();
        var (version, facilities) = await copy.GetAsync(context.CancellationToken);
        var response = new FindFacilitiesResponse { DirectoryVersion = version };
        foreach (var (facility, distance) in FacilityNearness.Rank(facilities, request.OrganSystem, request.Prefecture, request.Designation, request.Region))
        {
            response.Facilities.Add(new PublicFacility
            {
                FacilityCode = facility.FacilityCode,
                NameJa = facility.NameJa,
                Prefecture = facility.Prefecture,
                Region = facility.Region,
                Designations = { facility.Designations },
                OrganSpecialties = { facility.OrganSpecialties },
                ContactUrl = facility.ContactUrl,
                Distance = distance,
            });
        }
        // Browsers and proxies may keep the answer a minute: the directory changes a few times a year.
        context.GetHttpContext().Response.Headers.CacheControl = "public, max-age=60";
        return response;
    }
}

/// <summary>The published facilities in memory, read again at most once per <see cref="MaxAge"/> (one reader at a time; the others keep the last copy).</summary>
public sealed class PublicDirectoryCopy(HubDatabase database, TimeProvider clock) : IDisposable
{
    public static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(60);

    private readonly SemaphoreSlim _refreshing = new(1, 1);
    private Snapshot? _copy;

    public async Task<(long Version, IReadOnlyList<Facility> Facilities)> GetAsync(CancellationToken cancellationToken)
    {
        if (_copy is { } held && (Fresh(held) || !await _refreshing.WaitAsync(0, cancellationToken)))
        {
            // Fresh, or another request is reading the directory now: answer from the copy held.
            return (held.Version, held.Facilities);
        }
        if (_copy is null)
        {
            await _refreshing.WaitAsync(cancellationToken);
        }
        try
        {
            if (_copy is { } refreshed && Fresh(refreshed))
            {
                return (refreshed.Version, refreshed.Facilities);
            }
            await using var connection = await database.OpenAsync(cancellationToken);
            var version = await DirectoryPublisher.VersionAsync(connection, cancellationToken);
            var facilities = (await DirectoryPublisher.ReadAsync(connection, DirectoryPublisher.FacilityKind, cancellationToken)).Select(e => e.Facility).ToList();
            _copy = new Snapshot(version, facilities, clock.GetUtcNow());
            return (version, facilities);
        }
        finally
        {
            _refreshing.Release();
        }
    }

    private bool Fresh(Snapshot snapshot) => clock.GetUtcNow() - snapshot.ReadAt < MaxAge;

    public void Dispose() => _refreshing.Dispose();

    private sealed record Snapshot(long Version, IReadOnlyList<Facility> Facilities, DateTimeOffset ReadAt);
}
