using RareCancerNetwork.Protos.Contract;
using RareCancerNetwork.Spoke.HubClient;

namespace RareCancerNetwork.Spoke.Directory;

/// <summary>
/// Brings the spoke's directory copy up to the hub's: at every feed session's start (a new spoke, or one
/// that was away) and whenever the feed announces a version the copy lacks.
/// </summary>
public sealed partial class DirectorySync(LocalDirectoryStore store, HubConnection hub, ILogger<DirectorySync> logger)
{
    /// <summary>Pulls until the copy holds at least <paramref name="wantedVersion"/> (0: whatever the hub has now).</summary>
    public async Task CatchUpAsync(long wantedVersion, CancellationToken cancellationToken)
    {
        var version = (await store.CopyAsync(cancellationToken)).DirectoryVersion;
        if (wantedVersion > 0 && version >= wantedVersion)
        {
            return;
        }
        var from = version;
        var entries = 0;
        while (true)
        {
            var page = await hub.Sync.PullDirectoryAsync(new() { AfterVersion = version, PageSize = ContractLimits.DirectoryPullPageSize }, cancellationToken: cancellationToken);
            await store.ApplyAsync(page, cancellationToken);
            entries += page.Entries.Count;
            version = Math.Max(version, page.ThroughVersion);
            if (!page.More)
            {
                break;
            }
        }
        if (entries > 0)
        {
            LogCaughtUp(logger, entries, from, version);
        }
    }

    [LoggerMessage(EventId = 2301, Level = LogLevel.Information, Message = "Directory copy caught up: {Entries} entries, version {From} to {To}")]
    private static partial void LogCaughtUp(ILogger logger, int entries, long from, long to);
}
